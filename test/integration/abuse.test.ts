import fc from 'fast-check';
import type { ZodTypeAny } from 'zod';
import { createApp } from '../../src/api/app';
import type { ApiDeps } from '../../src/api/http/deps';
import type { Route } from '../../src/api/http/route';
import { ALL_ROUTES } from '../../src/api/routes';
import { signToken } from '../../src/platform/tokens';
import { recordReliability } from '../helpers/reliability';
import { expressRoutes } from '../helpers/routes';
import { cookieBody, Stack } from '../helpers/stack';
import { hostileLeaf, shapeOf, zodArbitrary } from '../helpers/zod-arbitrary';

// Hostile input, generated from the routes the API serves: every route gets its own cases (at least FLOOR), most of
// them with valid credentials, the JSON content type and a body generated from the route's own schema (valid-shaped,
// hostile leaves), so that they reach the handler's validation. Every answer must be 2xx/3xx/4xx with no stack trace
// and no secret, the process stays up, and nothing is stored for refused input. Then every route is called with
// every kind of wrong credential.
const FLOOR = 2000;
const RUNS = Number(process.env.ABUSE_RUNS ?? FLOOR);
/** Requests in flight at once: the API shares this process and 2 cores with Temporal and PostgreSQL. */
const CONCURRENCY = 8;
const API_TOKEN = 'test-api-token-0123456789';
const routeKey = (r: { method: string; path: string }) => `${r.method.toUpperCase()} ${r.path}`;

/** Ids that exist, made in beforeAll: generated paths use them most of the time. */
interface Ids {
  accountId: string;
  doomedId: string;
  connectionId: string;
  tokenIds: string[];
  receiptIds: string[];
  userRef: string;
}

/** How one route is fuzzed, besides what its descriptor says. */
interface RouteFuzz {
  /** Existing values for path params, by name (default: the seeded user, account, connection). */
  params?: Record<string, string[]>;
  /** Leaf values of the body by dotted path: ids that exist, signed references. */
  body?: Record<string, fc.Arbitrary<unknown>>;
  /**
   * Authenticated bodies the route would accept, at most: each starts real work (a workflow, a Unipile call). Past
   * it, an accepted-shaped body is spoiled (`spoil`, by default an unknown key, which strict schemas refuse).
   */
  acceptedBodies?: number;
  spoil?: (body: unknown) => unknown;
}

const oftenOneOf = (values: unknown[]) =>
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: hostileLeaf });

/** One entry per served route (checked against Express below): a route without one fails the run. */
const FUZZ: Record<string, (ids: Ids) => RouteFuzz> = {
  'GET /healthz': () => ({}),
  'GET /readyz': () => ({}),
  'GET /metrics': () => ({}),
  'GET /openapi.json': () => ({}),
  // Two account ids of its own: their receipts come from this test only, so stored and accepted can be compared.
  'POST /webhooks/unipile/account-status': () => ({
    body: { 'AccountStatus.account_id': fc.constantFrom('acc_fuzz_1', 'acc_fuzz_2') },
  }),
  'POST /webhooks/unipile/hosted-auth': (ids) => ({
    body: {
      name: oftenOneOf([ids.userRef]),
      account_id: fc.oneof(fc.constant(ids.accountId), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)),
    },
    acceptedBodies: 100,
    // Not strict: an unknown account instead (refused before Unipile once the link is bound).
    spoil: (b) => ({ ...(b as object), account_id: 'acc_not_known' }),
  }),
  'PUT /api/users/:userId': () => ({ params: { userId: ['fuzz-owner', 'fuzz-put'] } }),
  'POST /api/users/:userId/connect-link': () => ({ acceptedBodies: 200 }),
  'POST /api/accounts/:accountId/reconnect-link': () => ({ acceptedBodies: 200 }),
  'GET /api/users/:userId/accounts': () => ({}),
  'GET /api/accounts/:accountId': () => ({}),
  'GET /api/accounts/:accountId/events': () => ({}),
  'GET /api/accounts/:accountId/health': () => ({}),
  'DELETE /api/accounts/:accountId': (ids) => ({ params: { accountId: [ids.doomedId] } }),
  'POST /api/accounts/:accountId/reconnect': () => ({
    acceptedBodies: 30,
    // No body (or one without a provider) is a recovery attempt: spoiled as an unknown provider.
    spoil: (b) =>
      b && typeof b === 'object' && 'provider' in b ? { ...b, unexpected: 1 } : { provider: 'NOT_A_PROVIDER' },
  }),
  // Each accepted body is a Temporal update pausing the seeded account (harmless to the other routes).
  'POST /api/accounts/:accountId/pause': () => ({ acceptedBodies: 30 }),
  'POST /api/accounts/:accountId/resume': () => ({}),
  'GET /api/receipts': () => ({}),
  'POST /api/receipts/:receiptId/replay': (ids) => ({ params: { receiptId: ids.receiptIds } }),
  // The token routes work on a user of their own: revoking every token must not touch the owner's.
  'POST /api/users/:userId/extension-token': () => ({ params: { userId: ['fuzz-tokens'] } }),
  'GET /api/users/:userId/extension-tokens': () => ({ params: { userId: ['fuzz-tokens'] } }),
  'DELETE /api/users/:userId/extension-tokens': () => ({ params: { userId: ['fuzz-tokens'] } }),
  'DELETE /api/users/:userId/extension-tokens/:tokenId': (ids) => ({
    params: { userId: ['fuzz-tokens'], tokenId: ids.tokenIds },
  }),
  'POST /api/users/:userId/accounts': () => ({ params: { userId: ['fuzz-conn'] }, acceptedBodies: 30 }),
  'GET /api/connections/:connectionId': () => ({}),
  'POST /api/connections/:connectionId/steps': () => ({ acceptedBodies: 100 }),
  'GET /api/users/:userId/connections': () => ({}),
  'POST /api/reconcile/confirm': () => ({}),
  'GET /api/providers': () => ({}),
  // Each accepted body is a Temporal update that opens or closes an incident: a few are enough.
  'POST /api/providers/:provider/incident': () => ({ params: { provider: ['FUZZ_PROVIDER'] }, acceptedBodies: 6 }),
  'POST /api/extension/linkedin-cookies': () => ({
    body: {
      linkedin_member_id: oftenOneOf(['member-fuzz-1', 'member-fuzz-2']),
      // A refine the generator cannot guess.
      ip: fc.option(fc.oneof(fc.ipV4(), hostileLeaf), { nil: undefined }),
      userId: fc.option(oftenOneOf(['fuzz-owner']), { nil: undefined }),
    },
    acceptedBodies: 40,
  }),
  'POST /api/accounts/:accountId/checkpoint': () => ({}),
  'GET /connect/done': () => ({}),
  'GET /accounts/:accountId/reconnect': () => ({}),
};

/** Percent-encodes anything; a lone surrogate becomes bytes no UTF-8 decoder accepts (%ED%A0%80). */
const encode = (text: string): string => {
  try {
    return encodeURIComponent(text);
  } catch {
    return [...text]
      .map((ch) => {
        try {
          return encodeURIComponent(ch);
        } catch {
          return '%ED%A0%80';
        }
      })
      .join('');
  }
};
const asText = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Sent with valid credentials for the route's auth (generated calls only). */
  authenticated?: boolean;
  /** The parsed body sent, to match accepted webhooks with stored receipts. */
  sent?: unknown;
  /** Passwords this call carries: no answer may contain them. */
  passwords?: string[];
}

/** Whether the answer came from the route's validation or handler, not from auth, routing or body parsing. */
function reachedHandler(status: number, text: string): boolean {
  if (status < 400 || status >= 500) return true;
  if ([401, 413, 415, 429].includes(status)) return false;
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  if (status === 404 && code === 'not_found' && text.includes('No such route')) return false;
  if (status === 400 && (code === 'malformed_json' || code === 'bad_request')) return false;
  return true;
}

describe('abuse', () => {
  // Limits are tested elsewhere (http-hardening, api-unipile-budget): here they would turn most cases into a 429.
  const stack = new Stack({
    env: {
      WEBHOOK_RATE_LIMIT: '0',
      EXTENSION_RATE_LIMIT: '0',
      RECONNECT_PAGE_RATE_LIMIT: '0',
      UNIPILE_API_MAX_RPS: '100000',
      UNIPILE_API_BURST: '100000',
      UNIPILE_MAX_RPS: '1000',
    },
  });
  let extToken: string;
  let otherToken: string;
  let accountId: string;
  const ids = {} as Ids;
  const secrets: string[] = [];
  beforeAll(async () => {
    await stack.start();
    // One after the other: connectViaWizard finds its account as the simulator's newest one.
    accountId = await stack.connectedAccount({ userId: 'fuzz-owner', provider: 'WHATSAPP' });
    ids.doomedId = await stack.connectedAccount({ userId: 'fuzz-doomed', provider: 'WHATSAPP' });
    ids.accountId = accountId;
    extToken = await stack.extensionToken('fuzz-owner');
    otherToken = await stack.extensionToken('fuzz-other');
    const tokens = await Promise.all([1, 2, 3].map(() => stack.api$('POST', '/api/users/fuzz-tokens/extension-token')));
    ids.tokenIds = tokens.map((t) => String(t.json.tokenId));
    const started = await stack.api$('POST', '/api/users/fuzz-conn/accounts', { provider: 'WHATSAPP' });
    if (started.status !== 202) throw new Error(`connection answered ${started.status}: ${started.text}`);
    ids.connectionId = started.json.connectionId;
    // A create link not used yet: the hosted-auth callback's valid credential is a token for it.
    const link = await stack.api$('POST', '/api/users/fuzz-owner/connect-link', {});
    if (link.status !== 201) throw new Error(`connect-link answered ${link.status}`);
    ids.receiptIds = ((await stack.db('webhook_receipts').orderBy('id').limit(3).pluck('id')) as number[]).map(String);
    ids.userRef = signToken(stack.config.SIGNING_SECRET, 'user', 'fuzz-owner', 3_600_000);
    secrets.push(
      API_TOKEN,
      stack.config.UNIPILE_WEBHOOK_SECRET,
      stack.config.SIGNING_SECRET,
      stack.env.COOKIE_ENCRYPTION_KEY!,
      stack.apiKey,
      extToken,
      otherToken,
      ...tokens.map((t) => String(t.json.token)),
    );
  });
  afterAll(() => stack.stop());

  const call = async (c: Call) => {
    const res = await fetch(`${stack.api.url}${c.path}`, {
      method: c.method,
      headers: c.headers,
      body: c.method === 'GET' || c.method === 'HEAD' ? undefined : c.body,
      redirect: 'manual',
    });
    return { status: res.status, text: await res.text() };
  };
  const count = async (table: string) => Number((await stack.db(table).count('* as n'))[0]!.n);

  /** Every stored receipt (all states), through GET /api/receipts as an operator reads them. */
  async function receipts(): Promise<
    { id: number; source: string; accountId: string | null; message: string | null }[]
  > {
    // By id: a receipt forwarded between two reads would otherwise be listed twice.
    const all = new Map<number, { id: number; source: string; accountId: string | null; message: string | null }>();
    for (const state of ['pending', 'forwarded', 'dead']) {
      let before: number | null = null;
      do {
        const res = await stack.api$(
          'GET',
          `/api/receipts?state=${state}&limit=500${before ? `&before=${before}` : ''}`,
        );
        if (res.status !== 200) throw new Error(`GET /api/receipts answered ${res.status}`);
        for (const item of res.json.items) all.set(item.id, item);
        before = res.json.nextCursor;
      } while (before);
    }
    return [...all.values()];
  }

  /** The credentials a route's `auth` takes, valid or not; pages and the callback carry theirs in `token`. */
  function credentials(route: Route, authenticated: boolean, pick: number, params: Record<string, unknown>) {
    const secret = stack.config.SIGNING_SECRET;
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const one = <T>(options: T[]) => options[pick % options.length]!;
    const headers: Record<string, string> = {};
    let token: string | undefined;
    if (route.auth === 'backendToken')
      Object.assign(
        headers,
        authenticated
          ? bearer(API_TOKEN)
          : one([{}, bearer('wrong'), bearer(extToken), { authorization: `Basic ${btoa(API_TOKEN)}` }, bearer('')]),
      );
    else if (route.auth === 'backendOrExtensionToken')
      Object.assign(headers, authenticated ? one([bearer(API_TOKEN), bearer(extToken)]) : one([{}, bearer('wrong')]));
    else if (route.auth === 'extensionToken')
      Object.assign(headers, authenticated ? bearer(extToken) : one([{}, bearer('ext_wrong'), bearer(API_TOKEN)]));
    else if (route.auth === 'unipileAuth')
      Object.assign(
        headers,
        authenticated
          ? { 'unipile-auth': stack.config.UNIPILE_WEBHOOK_SECRET }
          : one([{}, { 'unipile-auth': 'wrong' }]),
      );
    else if (route.path === '/connect/done')
      token = authenticated
        ? signToken(secret, 'landing', 'fuzz-owner', 3_600_000)
        : one([
            '',
            'x.y',
            signToken(secret, 'landing', 'fuzz-owner', -60_000),
            signToken(secret, 'reconnect', accountId, 60_000),
          ]);
    else if (route.path === '/accounts/:accountId/reconnect')
      token = authenticated
        ? signToken(secret, 'reconnect', asText(params.accountId), 3_600_000)
        : one(['', 'x.y', signToken(secret, 'reconnect', asText(params.accountId), -60_000)]);
    else if (route.path === '/webhooks/unipile/hosted-auth')
      token = authenticated ? hostedAuthToken : one(['', 'x.y', signToken(secret, 'landing', 'fuzz-owner', 60_000)]);
    return { headers, token };
  }
  let hostedAuthToken = '';

  /** RUNS generated calls for one route: params mostly existing ids, credentials mostly valid, bodies from its schema. */
  function generate(route: Route, spec: RouteFuzz, seed: number): Call[] {
    const shape = route.params ? (shapeOf(route.params as ZodTypeAny) ?? {}) : {};
    const pools: Record<string, string[]> = {
      userId: ['fuzz-owner'],
      accountId: [accountId],
      connectionId: [ids.connectionId],
      ...spec.params,
    };
    const params = fc.record(
      Object.fromEntries(
        Object.entries(shape).map(([name, schema]) => [
          name,
          pools[name]
            ? fc.oneof(
                { weight: 5, arbitrary: fc.constantFrom(...pools[name]!) },
                { weight: 1, arbitrary: zodArbitrary(schema, { hostile: 0.3 }) },
              )
            : zodArbitrary(schema, { hostile: 0.3 }),
        ]),
      ),
    );
    // Operations routes take no credential: every call is as authenticated as it can be.
    const open =
      route.auth === 'none' &&
      !['/connect/done', '/accounts/:accountId/reconnect', '/webhooks/unipile/hosted-auth'].includes(route.path);
    const sample = fc.record({
      authenticated: open
        ? fc.constant(true)
        : fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      pick: fc.nat(),
      params,
      query: route.query ? zodArbitrary(route.query as ZodTypeAny) : fc.constant(undefined),
      body: route.body
        ? fc.oneof(
            {
              weight: 49,
              arbitrary: zodArbitrary(route.body as ZodTypeAny, { overrides: spec.body }).map((b) => ({ json: b })),
            },
            // Now and then not JSON at all, still sent as JSON.
            { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((raw) => ({ raw })) },
          )
        : fc.constant(undefined),
    });
    let acceptedShaped = 0;
    return fc.sample(sample, { numRuns: RUNS, seed }).map((s) => {
      const { headers, token } = credentials(route, s.authenticated, s.pick, s.params);
      let path = route.path.replace(/:(\w+)/g, (_, name: string) => encode(asText(s.params[name])));
      const query = { ...(s.query as Record<string, unknown> | undefined), ...(token !== undefined ? { token } : {}) };
      const q = Object.entries(query)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${encode(k)}=${encode(asText(v))}`)
        .join('&');
      if (q) path += `?${q}`;
      let json = s.body && 'json' in s.body ? s.body.json : undefined;
      if (spec.acceptedBodies !== undefined && s.authenticated && route.body && s.body && 'json' in s.body) {
        if ((route.body as ZodTypeAny).safeParse(json).success && ++acceptedShaped > spec.acceptedBodies)
          json = (spec.spoil ?? ((b: unknown) => ({ ...(b as object), unexpected: 1 })))(json);
      }
      const body = s.body
        ? 'raw' in s.body
          ? s.body.raw
          : json === undefined
            ? undefined
            : JSON.stringify(json)
        : undefined;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const passwords = [json]
        .flatMap((b) => (b && typeof b === 'object' ? Object.entries(b) : []))
        .filter(([k, v]) => /password/.test(k) && typeof v === 'string' && v.length >= 12)
        .map(([, v]) => v as string);
      return {
        method: route.method.toUpperCase(),
        path,
        headers,
        body,
        authenticated: s.authenticated,
        sent: json,
        passwords,
      };
    });
  }

  test('ABUSE_RUNS is not below the floor CI enforces', () => {
    expect(RUNS).toBeGreaterThanOrEqual(FLOOR);
  });

  test('every route Express serves has a generator, and every generator a served route', () => {
    const app = createApp({ config: stack.config, db: stack.db } as unknown as ApiDeps);
    const served = expressRoutes(app).map(routeKey).sort();
    expect(ALL_ROUTES.map(routeKey).sort()).toEqual(served);
    expect(Object.keys(FUZZ).sort()).toEqual(served);
  });

  test.each(ALL_ROUTES.map((r) => [routeKey(r), r] as const))(
    'fuzz %s: 2xx/3xx/4xx only, mostly reaching the handler',
    async (key, route) => {
      const spec = FUZZ[key];
      if (!spec) throw new Error(`no generator for ${key}`);
      if (route.path === '/webhooks/unipile/hosted-auth') {
        const link = await stack
          .db('hosted_links')
          .where({ user_id: 'fuzz-owner' })
          .whereNull('reconnect_account_id')
          .whereNull('account_id')
          .orderBy('created_at', 'desc')
          .first('link_id');
        hostedAuthToken = signToken(stack.config.SIGNING_SECRET, 'hosted-auth', link.link_id, 3_600_000);
      }
      if (key === 'DELETE /api/users/:userId/extension-tokens/:tokenId') {
        // The route before revoked them all: fresh ones, so that some deletions find a token.
        const fresh = await Promise.all(
          [1, 2, 3].map(() => stack.api$('POST', '/api/users/fuzz-tokens/extension-token')),
        );
        ids.tokenIds = fresh.map((t) => String(t.json.tokenId));
        secrets.push(...fresh.map((t) => String(t.json.token)));
      }
      const seed = Number(process.env.ABUSE_SEED ?? [...key].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7));
      const calls = generate(route, spec(ids), seed);
      const tables = ['users', 'extension_tokens', 'connections', 'linkedin_sessions', 'hosted_links'];
      const before = Object.fromEntries(await Promise.all(tables.map(async (t) => [t, await count(t)] as const)));
      const stored =
        route.auth === 'unipileAuth' || route.path === '/webhooks/unipile/hosted-auth'
          ? new Set((await receipts()).map((r) => r.id))
          : undefined;

      const statuses = new Map<number, number>();
      /** One answer per status, printed with the figures: what each kind of refusal looked like. */
      const answers = new Map<number, string>();
      const problems: string[] = [];
      const acceptedCalls: Call[] = [];
      let reached = 0;
      let next = 0;
      const started = Date.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < calls.length) {
            const c = calls[next++]!;
            const { status, text } = await call(c);
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (!answers.has(status))
              answers.set(
                status,
                `${c.method} ${c.path.slice(0, 120)} ${c.body?.slice(0, 120) ?? ''} → ${text.slice(0, 160)}`,
              );
            if (reachedHandler(status, text)) reached++;
            if (status < 400) acceptedCalls.push(c);
            const what = `${c.method} ${c.path.slice(0, 200)} ${c.body?.slice(0, 200) ?? ''}`;
            if (status >= 500) problems.push(`${status} for ${what}: ${text.slice(0, 200)}`);
            if (/\n\s+at \S+ \(/.test(text)) problems.push(`stack trace for ${what}`);
            for (const s of [...secrets, ...(c.passwords ?? [])])
              if (text.includes(s)) problems.push(`a secret in the answer to ${what}`);
          }
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      const up = (await fetch(`${stack.api.url}/healthz`)).status;
      const accepted = acceptedCalls.length;
      const authenticated = calls.filter((c) => c.authenticated).length;
      const fivexx = [...statuses].filter(([s]) => s >= 500).reduce((n, [, k]) => n + k, 0);
      const growth = Object.fromEntries(
        await Promise.all(tables.map(async (t) => [t, (await count(t)) - before[t]!] as const)),
      );

      // Webhooks: every accepted call has its receipt (by account and message for the status webhook).
      let eventsLost: number | null = null;
      let storedForPool = 0;
      if (stored) {
        const fresh = (await receipts()).filter((r) => !stored.has(r.id));
        if (route.auth === 'unipileAuth') {
          const left = new Map<string, number>();
          for (const r of fresh.filter((x) => x.source === 'account_status'))
            left.set(`${r.accountId}|${r.message}`, (left.get(`${r.accountId}|${r.message}`) ?? 0) + 1);
          eventsLost = 0;
          for (const c of acceptedCalls) {
            const s = (c.sent as { AccountStatus: { account_id: string; message: string } }).AccountStatus;
            const k = `${s.account_id}|${s.message}`;
            if (left.get(k)) left.set(k, left.get(k)! - 1);
            else eventsLost++;
          }
          storedForPool = fresh.filter(
            (r) => r.source === 'account_status' && ['acc_fuzz_1', 'acc_fuzz_2'].includes(r.accountId ?? ''),
          ).length;
        } else {
          storedForPool = fresh.filter((r) => r.source === 'hosted_auth').length;
          eventsLost = Math.max(0, accepted - storedForPool);
        }
      }
      const by4xx = [...statuses]
        .filter(([s]) => s >= 400 && s < 500)
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${n}×${s}`)
        .join(', ');
      recordReliability({
        kind: 'fuzz',
        injected: `${calls.length} generated requests to ${key}: ${authenticated} with valid credentials; params mostly existing ids; bodies and queries from the route's schemas with hostile leaves (NUL, lone surrogates, 1e308, prototype keys, 10 kB strings, wrong types)`,
        times: calls.length,
        expected:
          'only 2xx/3xx/4xx, no stack trace, no secret in answers, process up, nothing stored for refused input; a majority reach the handler (counted from the answer: not 401, not 404 "No such route", not 413/415/429, not 400 malformed_json/bad_request; a 400 naming a field counts as reaching validation)',
        observed: `reached the handler ${reached} (${Math.round((100 * reached) / calls.length)} %), accepted ${accepted}, 4xx ${by4xx || 'none'}, 5xx ${fivexx}; ${seconds.toFixed(1)} s`,
        eventsLost,
        emailsLost: null,
        duplicateEmails: null,
      });
      console.log(
        `fuzz ${key}: cases ${calls.length}, authenticated ${authenticated}, reached ${reached}, accepted ${accepted}, 4xx ${by4xx}, 5xx ${fivexx}, ${seconds.toFixed(1)} s, eventsLost ${eventsLost}, growth ${JSON.stringify(growth)}\n${[...answers].map(([st, a]) => `  ${st}: ${a}`).join('\n')}`,
      );

      expect(problems.slice(0, 10)).toEqual([]);
      expect(up).toBe(200);
      expect(calls.length).toBeGreaterThanOrEqual(FLOOR);
      expect(authenticated * 2).toBeGreaterThanOrEqual(calls.length);
      expect(reached * 2).toBeGreaterThan(calls.length);
      // Nothing stored for refused input: no table grew by more than the calls that were accepted.
      for (const t of tables)
        expect({ table: t, grew: Math.min(growth[t]!, accepted) }).toEqual({ table: t, grew: growth[t] });
      // Accepted cookie posts write at most one session per member (the cap is 5 members per user).
      if (route.path === '/api/extension/linkedin-cookies')
        expect(growth.linkedin_sessions).toBeLessThanOrEqual(Math.min(5, accepted));
      if (route.auth === 'unipileAuth') {
        expect(eventsLost).toBe(0);
        // The pool's receipts come from this route only: exactly one per accepted call.
        expect(storedForPool).toBe(accepted);
      } else if (stored) {
        expect(eventsLost).toBe(0);
        expect(storedForPool).toBe(accepted);
      }
    },
  );

  test('authorisation matrix: every route refuses missing, wrong, foreign, expired and tampered credentials', async () => {
    const app = createApp({ config: stack.config, db: stack.db } as unknown as ApiDeps);
    const all = expressRoutes(app);
    expect(all.length).toBeGreaterThanOrEqual(20);
    const secret = stack.config.SIGNING_SECRET;
    const expired = (purpose: 'landing' | 'reconnect' | 'hosted-auth', sub: string) =>
      signToken(secret, purpose, sub, -60_000);
    const tampered = (token: string) => token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
    const fill = (path: string) =>
      path.replace(':userId', 'fuzz-owner').replace(':accountId', accountId).replace(/:\w+/g, '1');
    const results: string[] = [];
    const expectStatus = async (c: Call, allowed: number[], what: string) => {
      const { status } = await call(c);
      if (!allowed.includes(status)) results.push(`${c.method} ${c.path} with ${what}: ${status}`);
    };
    const json = { 'content-type': 'application/json' };
    // The owner's own tokens, once no longer valid: one past EXTENSION_TOKEN_TTL, one revoked by the backend.
    const issue = async () =>
      (await stack.api$('POST', '/api/users/fuzz-owner/extension-token')).json as { token: string; tokenId: string };
    const expiredToken = await issue();
    await stack
      .db('extension_tokens')
      .where({ id: expiredToken.tokenId })
      .update({
        created_at: stack.db.raw(`now() - (? * interval '1 millisecond')`, [stack.config.EXTENSION_TOKEN_TTL + 60_000]),
      });
    const revokedToken = await issue();
    expect(
      (await stack.api$('DELETE', `/api/users/fuzz-owner/extension-tokens/${revokedToken.tokenId}`)).status,
    ).toBeLessThan(300);
    const deadOwnerTokens = [
      ["the owner's expired extension token", `Bearer ${expiredToken.token}`],
      ["the owner's revoked extension token", `Bearer ${revokedToken.token}`],
    ] as const;
    /** Each Authorization header (labelled) must get a 401. */
    const refusesBearers = async (
      method: string,
      path: string,
      credentials: readonly (readonly [string, string])[],
    ) => {
      for (const [what, auth] of credentials)
        await expectStatus({ method, path, headers: { ...json, authorization: auth }, body: '{}' }, [401], what);
    };

    for (const { method, path } of all) {
      const m = method.toUpperCase();
      const url = fill(path);
      if (['/healthz', '/readyz', '/metrics', '/openapi.json'].includes(path)) continue; // public by design
      if (path.startsWith('/api/extension/')) {
        await refusesBearers(m, url, [
          ['no token', ''],
          ['a wrong token', 'Bearer ext_wrong'],
          ['the backend token', 'Bearer test-api-token-0123456789'],
          ...deadOwnerTokens,
        ] as const);
        // Another user's token cannot write this user's cookies.
        await expectStatus(
          {
            method: m,
            path: url,
            headers: { ...json, authorization: `Bearer ${otherToken}` },
            body: JSON.stringify({ ...cookieBody('AQEDAforeign-cookie', 'member-x'), userId: 'fuzz-owner' }),
          },
          [403],
          "another user's extension token",
        );
      } else if (path === '/api/accounts/:accountId/checkpoint') {
        // The backend token or the owning user's extension token: the owner gets through to a 404
        // (nothing waits), anything else is refused.
        await refusesBearers(m, url, [
          ['no token', ''],
          ['a wrong token', 'Bearer wrong'],
          ['a non-bearer scheme', 'Basic dGVzdC1hcGktdG9rZW4tMDEyMzQ1Njc4OQ=='],
          ...deadOwnerTokens,
        ] as const);
        // Ownership is checked before anything about the account is told: another user's token gets 403, whether or
        // not a checkpoint waits; the owner gets through to a 404 (nothing waits).
        await expectStatus(
          { method: m, path: url, headers: { ...json, authorization: `Bearer ${otherToken}` }, body: '{"code":"1"}' },
          [403],
          "another user's extension token",
        );
        await expectStatus(
          { method: m, path: url, headers: { ...json, authorization: `Bearer ${extToken}` }, body: '{"code":"1"}' },
          [404],
          "the owner's extension token",
        );
      } else if (path.startsWith('/api/')) {
        await refusesBearers(m, url, [
          ['no token', ''],
          ['a wrong token', 'Bearer wrong'],
          ['an extension token', `Bearer ${extToken}`],
          ['a non-bearer scheme', 'Basic dGVzdC1hcGktdG9rZW4tMDEyMzQ1Njc4OQ=='],
        ] as const);
      } else if (path === '/webhooks/unipile/account-status') {
        for (const [what, h] of [
          ['no secret', {}],
          ['a wrong secret', { 'unipile-auth': 'wrong' }],
          ['the backend token', { authorization: 'Bearer test-api-token-0123456789' }],
        ] as const)
          await expectStatus({ method: m, path: url, headers: { ...json, ...h }, body: '{}' }, [401], what);
      } else if (path === '/webhooks/unipile/hosted-auth') {
        const body = JSON.stringify({ status: 'CREATION_SUCCESS', account_id: accountId, name: 'x' });
        for (const [what, token] of [
          ['no token', ''],
          ['an expired token', expired('hosted-auth', 'some-link')],
          ['a tampered token', tampered(signToken(secret, 'hosted-auth', 'some-link', 60_000))],
          ['a landing token', signToken(secret, 'landing', 'fuzz-owner', 60_000)],
        ] as const)
          await expectStatus({ method: m, path: `${url}?token=${token}`, headers: json, body }, [401], what);
      } else if (path === '/connect/done') {
        for (const [what, token] of [
          ['no token', ''],
          ['an expired token', expired('landing', 'fuzz-owner')],
          ['a tampered token', tampered(signToken(secret, 'landing', 'fuzz-owner', 60_000))],
          ['a reconnect token', signToken(secret, 'reconnect', accountId, 60_000)],
        ] as const)
          await expectStatus({ method: m, path: `${url}?token=${token}`, headers: {} }, [401], what);
      } else if (path === '/accounts/:accountId/reconnect') {
        for (const [what, token] of [
          ['no token', ''],
          ['an expired token', expired('reconnect', accountId)],
          ['a tampered token', tampered(signToken(secret, 'reconnect', accountId, 60_000))],
          ["another account's token", signToken(secret, 'reconnect', 'acc_other', 60_000)],
        ] as const)
          await expectStatus({ method: m, path: `${url}?token=${token}`, headers: {} }, [401], what);
      } else {
        results.push(`${m} ${path}: no credential class known for this route`);
      }
    }
    expect(results).toEqual([]);
  });
});
