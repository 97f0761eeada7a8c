import { randomBytes } from 'node:crypto';
import { reconnectLinkPath } from '../../src/platform/tokens';
import { recordReliability } from '../helpers/reliability';
import { sleep, Stack, waitFor } from '../helpers/stack';

// Every Unipile call the API makes on a user's behalf is counted against UNIPILE_API_MAX_RPS (per API process), and
// the reconnect page of emails reuses the account's hosted link while it is fresh and is rate-limited.
const MAX_RPS = 2;
const PAGE_LIMIT = 80;
/** Secrets of the length configuration requires (the shared test defaults may be shorter). */
const LONG_SECRETS = {
  API_TOKEN: 'test-api-token-unipile-budget',
  UNIPILE_WEBHOOK_SECRET: 'test-webhook-secret-unipile-budget',
  SIGNING_SECRET: 'test-signing-secret-unipile-budget',
};

describe("Unipile calls the API makes on users' behalf", () => {
  const stack = new Stack({
    env: {
      UNIPILE_API_MAX_RPS: String(MAX_RPS),
      UNIPILE_API_BURST: String(MAX_RPS),
      RECONNECT_PAGE_RATE_LIMIT: String(PAGE_LIMIT),
      ...LONG_SECRETS,
    },
  });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const hostedLinkCalls = () =>
    stack.sim.calls.filter((c) => c.method === 'POST' && c.path === '/api/v1/hosted/accounts/link');
  const open = async (path: string) => {
    const res = await fetch(`${stack.api.url}${path}`, { redirect: 'manual' });
    await res.arrayBuffer();
    return { status: res.status, location: res.headers.get('location'), retryAfter: res.headers.get('retry-after') };
  };
  /** This process's budget refills at MAX_RPS a second: a test starts with a full one. */
  const refill = () => sleep(1000 + 1000 / MAX_RPS);
  /** An account connected through hosted auth (a hosted link and the callback's read: two calls of the budget). */
  const account = async (userId: string, provider: string) => {
    await refill();
    const accountId = await stack.connectedAccount({ userId, provider });
    await refill();
    return accountId;
  };

  test('50 opens of an emailed reconnect link make one hosted link at Unipile, handed out until it is used', async () => {
    const accountId = await account('page-reuse', 'WHATSAPP');
    const path = reconnectLinkPath(stack.config.SIGNING_SECRET, accountId);
    const before = hostedLinkCalls().length;
    const answers = await Promise.all(Array.from({ length: 50 }, () => open(path)));
    const made = hostedLinkCalls().length - before;
    const urls = new Set(answers.map((a) => a.location));
    recordReliability({
      kind: 'abuse',
      injected: '50 opens at once of one account’s emailed reconnect link',
      times: 50,
      expected: 'every open redirected to the same hosted link; Unipile asked for 1',
      observed: `${answers.filter((a) => a.status === 302).length} × 302 to ${urls.size} distinct URL(s); ${made} hosted link(s) made at Unipile`,
      eventsLost: null,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(302));
    expect(urls.size).toBe(1);
    expect(made).toBe(1);
    const url = answers[0]!.location ?? '';
    expect(url.startsWith(stack.sim.url)).toBe(true);

    // Positive control: once the link has reconnected the account (the wizard calls notify_url), it is spent, and the
    // next open makes a new one.
    const done = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(done.status).toBe(302);
    await refill(); // the callback's check with Unipile spent one call of this small budget
    let next: Awaited<ReturnType<typeof open>> | undefined;
    const seen: string[] = [];
    await waitFor(
      async () => {
        next = await open(path);
        seen.push(`${next.status} ${next.location === url ? 'same' : next.location}`);
        return next.status !== 302 || next.location !== url;
      },
      10_000,
      'a new hosted link after the first was used',
    );
    expect({ status: next?.status, seen }).toMatchObject({ status: 302 });
    expect(next?.location?.startsWith(stack.sim.url)).toBe(true);
    expect(hostedLinkCalls().length - before).toBe(2);
  });

  test('the reconnect page is limited per account: past RECONNECT_PAGE_RATE_LIMIT a minute, 429 with Retry-After', async () => {
    const accountId = await account('page-limit', 'TELEGRAM');
    const other = await account('page-other', 'TELEGRAM');
    const path = reconnectLinkPath(stack.config.SIGNING_SECRET, accountId);
    const answers: Awaited<ReturnType<typeof open>>[] = [];
    for (let i = 0; i < PAGE_LIMIT + 5; i++) answers.push(await open(path));
    const limited = answers.filter((a) => a.status === 429);
    // Another account's link, from the same address, is not affected.
    const otherAnswer = await open(reconnectLinkPath(stack.config.SIGNING_SECRET, other));
    recordReliability({
      kind: 'abuse',
      injected: `${PAGE_LIMIT + 5} opens in a row of one account’s reconnect link (limit ${PAGE_LIMIT} a minute)`,
      times: PAGE_LIMIT + 5,
      expected: `${PAGE_LIMIT} redirects, then 429 with Retry-After; another account unaffected`,
      observed: `${answers.filter((a) => a.status === 302).length} × 302, ${limited.length} × 429; other account ${otherAnswer.status}`,
      eventsLost: null,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(answers.slice(0, PAGE_LIMIT).every((a) => a.status === 302)).toBe(true);
    expect(limited).toHaveLength(5);
    for (const a of limited) expect(Number(a.retryAfter)).toBeGreaterThan(0);
    expect(otherAnswer.status).toBe(302);
  });

  test('the reconnect page is limited per address across accounts; invalid links are refused before any count', async () => {
    const secret = stack.config.SIGNING_SECRET;
    // Invalid links: 401, never 429, however many (they cost an HMAC check, nothing else).
    const forged = await Promise.all(
      Array.from({ length: 50 }, (_, i) => open(`/accounts/acc_forged${i}/reconnect?token=forged`)),
    );
    expect(new Set(forged.map((a) => a.status))).toEqual(new Set([401]));
    // Valid links of many accounts (unknown ones: 404), each opened once: only the address can run out.
    const answers: Awaited<ReturnType<typeof open>>[] = [];
    // The address's window may turn over during the loop: up to two windows' worth.
    for (let i = 0; i < 8 * PAGE_LIMIT + 2; i++) {
      answers.push(await open(reconnectLinkPath(secret, `acc_${randomBytes(6).toString('hex')}`)));
      if (answers[answers.length - 1]!.status === 429) break;
    }
    const limited = answers.filter((a) => a.status === 429);
    recordReliability({
      kind: 'abuse',
      injected: `valid reconnect links of ${answers.length} different accounts opened from one address, after 50 forged ones`,
      times: answers.length + forged.length,
      expected: `forged: 401 each; at most ${4 * PAGE_LIMIT} a minute from one address, then 429`,
      observed: `forged: ${forged.filter((a) => a.status === 401).length} × 401; valid: ${answers.length - limited.length} answered, then ${limited.length} × 429`,
      eventsLost: null,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(limited).toHaveLength(1);
    expect(Number(limited[0]!.retryAfter)).toBeGreaterThan(0);
    expect(answers.slice(0, -1).every((a) => a.status === 404)).toBe(true);
  });

  test('a burst past UNIPILE_API_MAX_RPS gets 429 rate_limited with Retry-After; Unipile sees at most the budget', async () => {
    const accountId = await account('burst', 'GOOGLE');
    const started = new Date().toISOString();
    const t0 = Date.now();
    const requests = [
      ...Array.from({ length: 10 }, () => stack.api$('POST', '/api/users/burst/connect-link', {})),
      ...Array.from({ length: 10 }, () => stack.api$('POST', `/api/accounts/${accountId}/reconnect-link`, {})),
      ...Array.from({ length: 10 }, () => stack.api$('GET', `/api/accounts/${accountId}/health?fresh=true`)),
    ];
    const answers = await Promise.all(requests);
    const elapsedMs = Date.now() - t0;
    const seen = stack.sim.calls.filter(
      (c) =>
        c.at >= started &&
        ((c.method === 'POST' && c.path === '/api/v1/hosted/accounts/link') ||
          (c.method === 'GET' && c.path === `/api/v1/accounts/${accountId}`)),
    ).length;
    const budget = MAX_RPS + Math.ceil((elapsedMs / 1000) * MAX_RPS);
    const ok = answers.filter((a) => a.status === 200 || a.status === 201).length;
    const limited = answers.filter((a) => a.status === 429);
    recordReliability({
      kind: 'abuse',
      injected: `${answers.length} Unipile-backed API calls at once (connect-link, reconnect-link, health?fresh=true), UNIPILE_API_MAX_RPS=${MAX_RPS}`,
      times: answers.length,
      expected: `at most ${budget} reach Unipile in ${elapsedMs} ms, the rest 429 rate_limited with Retry-After`,
      observed: `${ok} answered, ${limited.length} × 429; Unipile saw ${seen}`,
      eventsLost: null,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(seen).toBeLessThanOrEqual(budget);
    expect(ok).toBe(seen); // each answered call made exactly one Unipile call; a refused one made none
    expect(ok + limited.length).toBe(answers.length);
    expect(limited.length).toBeGreaterThanOrEqual(answers.length - budget);
    for (const a of limited) {
      expect(a.json.error.code).toBe('rate_limited');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Positive control: once it refills, the same call goes through.
    await refill();
    expect((await stack.api$('GET', `/api/accounts/${accountId}/health?fresh=true`)).status).toBe(200);
  });
});
