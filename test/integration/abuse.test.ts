import fc from 'fast-check';
import { createApp } from '../../src/api/app';
import type { ApiDeps } from '../../src/api/http/deps';
import { signToken } from '../../src/platform/tokens';
import { recordReliability } from '../helpers/reliability';
import { expressRoutes } from '../helpers/routes';
import { cookieBody, Stack } from '../helpers/stack';

// Hostile input, generated: every public endpoint gets thousands of bodies, queries, paths and headers, and must
// answer 2xx or 4xx (never 5xx, never a stack trace), stay up, and store nothing for what it refused. Then every
// route is called with every kind of wrong credential.
const RUNS = Number(process.env.ABUSE_RUNS ?? 2000);

/** Strings that broke things before: NUL, lone surrogates, huge numbers, path tricks, prototype keys. */
const nastyConstants = fc.constantFrom(
  '',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '1e20',
  '-1',
  '0',
  'NaN',
  '../webhooks',
  '?',
  '%',
  '%E0%A4%A',
  'constructor',
  '__proto__',
  'x'.repeat(5000),
  'javascript:alert(1)',
  'OK',
  'CREDENTIALS',
  'DELETED',
  'LINKEDIN',
);
const nasty = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), nastyConstants);
const value = fc.oneof(
  nasty,
  fc.jsonValue({ maxDepth: 2 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const fields = (...keys: string[]) =>
  fc.dictionary(fc.oneof(fc.constantFrom(...keys), nasty), value, { maxKeys: keys.length + 2 });
/** Percent-encodes anything; a lone surrogate becomes bytes no UTF-8 decoder accepts (%ED%A0%80). */
const encode = (text: string): string => {
  try {
    return encodeURIComponent(text);
  } catch {
    return text
      .split('')
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

/** Header values: anything HTTP can carry (visible Latin-1 and spaces); fetch refuses control characters. */
const headerValue = fc.oneof(
  fc.string({
    unit: fc
      .integer({ min: 0x20, max: 0xff })
      .filter((c) => c !== 0x7f)
      .map((c) => String.fromCharCode(c)),
    maxLength: 60,
  }),
  fc.constantFrom('', 'Bearer ', 'Bearer x', 'bearer test-api-token-0123456789', 'Bearer\ttest'),
);
const segment = nasty.map((s) => encode(s) || 'x');
const query = fc
  .dictionary(fc.oneof(fc.constantFrom('limit', 'before', 'state', 'live', 'token', 'fresh'), nasty), nasty, {
    maxKeys: 4,
  })
  .map((q) => new URLSearchParams(q).toString());
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
);
/** A body: mostly JSON of roughly the right shape, sometimes any JSON, sometimes not JSON at all. */
const body = (shape: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 6, arbitrary: shape.map((b) => JSON.stringify(b)) },
    { weight: 2, arbitrary: fc.jsonValue().map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  );

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

describe('abuse', () => {
  // Limits are tested elsewhere (http-hardening): here they would turn every case into a 429.
  const stack = new Stack({ env: { WEBHOOK_RATE_LIMIT: '0', EXTENSION_RATE_LIMIT: '0' } });
  let extToken: string;
  let otherToken: string;
  let accountId: string;
  beforeAll(async () => {
    await stack.start();
    accountId = await stack.connectedAccount({ userId: 'fuzz-owner', provider: 'WHATSAPP' });
    extToken = await stack.extensionToken('fuzz-owner');
    otherToken = await stack.extensionToken('fuzz-other');
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

  /** Runs RUNS generated calls; all must be 2xx/3xx/4xx with no stack trace; returns the answers by status. */
  async function fuzz(calls: fc.Arbitrary<Call>): Promise<Map<number, number>> {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(calls, async (c) => {
        const { status, text } = await call(c);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect({ status: status < 500 ? 'below 500' : status, call: status < 500 ? '' : c }).toEqual({
          status: 'below 500',
          call: '',
        });
        expect(text).not.toMatch(/\n\s+at \S+ \(/);
      }),
      { numRuns: RUNS },
    );
    expect((await fetch(`${stack.api.url}/healthz`)).status).toBe(200);
    const histogram = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${n}×${status}`)
      .join(', ');
    recordReliability({
      injected: `${RUNS} generated requests (bodies, queries, path segments, headers; NUL, lone surrogates, 1e20…)`,
      times: RUNS,
      expected: 'only 2xx/3xx/4xx, no stack trace, process up, nothing stored for refused input',
      observed: histogram,
      eventsLost: 0,
      emailsLost: 0,
      duplicateEmails: 0,
    });
    return statuses;
  }
  const ok = (statuses: Map<number, number>) =>
    [...statuses].filter(([s]) => s >= 200 && s < 300).reduce((n, [, c]) => n + c, 0);

  test('account-status webhook: only 2xx/4xx; exactly the accepted calls are stored', async () => {
    const before = await count('webhook_receipts');
    const statuses = await fuzz(
      fc.record({
        method: fc.constant('POST'),
        path: fc.constant('/webhooks/unipile/account-status'),
        headers: fc.record({
          'unipile-auth': fc.oneof({ weight: 8, arbitrary: fc.constant('test-webhook-secret') }, headerValue),
          'content-type': contentType,
        }),
        body: body(
          fc.oneof(
            fc.record({ AccountStatus: fields('account_id', 'account_type', 'message') }),
            // Well-formed, for a few accounts: these must be stored, one receipt per call.
            fc.record({
              AccountStatus: fc.record({
                account_id: fc.constantFrom(accountId, 'acc_fuzz_1', 'acc_fuzz_2'),
                account_type: fc.constantFrom('WHATSAPP', 'LINKEDIN'),
                message: fc.oneof(fc.constantFrom('CONNECTING', 'OK', 'SYNC_SUCCESS'), nasty),
              }),
            }),
          ),
        ),
      }),
    );
    expect((await count('webhook_receipts')) - before).toBe(ok(statuses));
  });

  test('hosted-auth callback: only 2xx/4xx; nothing stored without a valid link', async () => {
    const before = await count('webhook_receipts');
    await fuzz(
      fc.record({
        method: fc.constant('POST'),
        path: fc
          .oneof(nasty, fc.constant('forged.token'))
          .map((t) => `/webhooks/unipile/hosted-auth?token=${encode(t)}`),
        headers: fc.record({ 'content-type': contentType }),
        body: body(fields('status', 'account_id', 'name')),
      }),
    );
    expect(await count('webhook_receipts')).toBe(before);
  });

  test('extension cookie post: only 2xx/4xx; sessions only for accepted posts', async () => {
    const before = await count('linkedin_sessions');
    const statuses = await fuzz(
      fc.record({
        method: fc.constant('POST'),
        path: fc.constant('/api/extension/linkedin-cookies'),
        headers: fc.record({
          authorization: fc.oneof({ weight: 8, arbitrary: fc.constant(`Bearer ${extToken}`) }, headerValue),
          'content-type': contentType,
        }),
        body: body(
          fc
            .tuple(fields('li_at', 'li_a', 'user_agent', 'linkedin_member_id', 'ip', 'country', 'userId'), fc.boolean())
            .map(([extra, valid]) => (valid ? { ...cookieBody('AQEDAfuzz-cookie', 'member-fuzz'), ...extra } : extra)),
        ),
      }),
    );
    // Accepted posts write at most one row per member (the cap is 5 members per user).
    expect((await count('linkedin_sessions')) - before).toBeLessThanOrEqual(Math.min(5, ok(statuses)));
  });

  const api = { authorization: 'Bearer test-api-token-0123456789' };
  const backendEndpoints: [string, () => fc.Arbitrary<Call>][] = [
    [
      'PUT /api/users/:userId',
      () =>
        fc.record({
          method: fc.constant('PUT'),
          path: segment.map((u) => `/api/users/${u}`),
          headers: contentType.map((t) => ({ ...api, 'content-type': t })),
          body: body(fields('email', 'name')),
        }),
    ],
    [
      'POST /api/users/:userId/connect-link and /api/accounts/:accountId/reconnect-link',
      () =>
        fc.record({
          method: fc.constant('POST'),
          path: fc
            .tuple(fc.oneof(segment, fc.constant(accountId)), fc.boolean())
            .map(([id, user]) => (user ? `/api/users/${id}/connect-link` : `/api/accounts/${id}/reconnect-link`)),
          headers: contentType.map((t) => ({ ...api, 'content-type': t })),
          body: body(fields('providers', 'successRedirectUrl', 'failureRedirectUrl')),
        }),
    ],
    [
      'GET and DELETE /api/accounts/:accountId(/events|/health), GET /api/users/:userId/accounts',
      () =>
        fc.record({
          method: fc.constantFrom('GET', 'GET', 'DELETE'),
          path: fc
            .tuple(fc.oneof(segment, fc.constant(accountId)), fc.constantFrom('', '/events', '/health', 'user'), query)
            .map(([id, sub, q]) =>
              sub === 'user' ? `/api/users/${id}/accounts?${q}` : `/api/accounts/${id}${sub}?${q}`,
            ),
          headers: fc.constant(api),
        }),
    ],
    [
      'GET /api/receipts, POST /api/receipts/:receiptId/replay',
      () =>
        fc.record({
          method: fc.constantFrom('GET', 'POST'),
          path: fc
            .tuple(query, segment)
            .map(([q, id]) => (q.length % 2 ? `/api/receipts?${q}` : `/api/receipts/${id}/replay`)),
          headers: fc.constant(api),
        }),
    ],
    [
      'POST /api/accounts/:accountId/checkpoint and /reconnect',
      () =>
        fc.record({
          method: fc.constant('POST'),
          path: fc
            .tuple(segment, fc.constantFrom('checkpoint', 'reconnect'))
            .map(([id, what]) => `/api/accounts/${id}/${what}`),
          headers: contentType.map((t) => ({ ...api, 'content-type': t })),
          body: body(fields('code')),
        }),
    ],
    [
      'POST /api/users/:userId/extension-token, DELETE /api/users/:userId/extension-tokens/:tokenId',
      () =>
        fc.record({
          method: fc.constantFrom('POST', 'DELETE'),
          path: fc
            .tuple(segment, segment, fc.boolean())
            .map(([u, t, create]) =>
              create ? `/api/users/${u}/extension-token` : `/api/users/${u}/extension-tokens/${t}`,
            ),
          headers: fc.constant(api),
        }),
    ],
    [
      'GET /connect/done and /accounts/:accountId/reconnect (signed links)',
      () =>
        fc.record({
          method: fc.constant('GET'),
          path: fc
            .tuple(fc.oneof(segment, fc.constant(accountId)), nasty, fc.boolean())
            .map(([id, t, landing]) =>
              landing ? `/connect/done?token=${encode(t)}` : `/accounts/${id}/reconnect?token=${encode(t)}`,
            ),
          headers: fc.constant({}),
        }),
    ],
  ];

  test.each(backendEndpoints)('%s: only ever 2xx/3xx/4xx', async (_name, calls) => {
    const users = await count('users');
    const statuses = await fuzz(calls());
    // A user row is written only by an accepted PUT.
    expect((await count('users')) - users).toBeLessThanOrEqual(ok(statuses));
  });

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
        // The backend token or the owning user's extension token (SPEC §10.2): the owner gets through to a 404
        // (nothing waits), anything else is refused.
        await refusesBearers(m, url, [
          ['no token', ''],
          ['a wrong token', 'Bearer wrong'],
          ['a non-bearer scheme', 'Basic dGVzdC1hcGktdG9rZW4tMDEyMzQ1Njc4OQ=='],
        ] as const);
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
