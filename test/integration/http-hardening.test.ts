import { cookieBody, Stack, waitFor } from '../helpers/stack';

// What the HTTP surface does with hostile or unlucky traffic: headers on every answer, redirect targets, Unipile's
// refusals, floods (per token and per source address), members per user, and how long receipts are kept.
describe('HTTP hardening', () => {
  const stack = new Stack({
    env: {
      EXTENSION_RATE_LIMIT: '5',
      WEBHOOK_RATE_LIMIT: '40',
      MAX_LINKEDIN_MEMBERS_PER_USER: '2',
      RECEIPT_RETENTION: '1s',
      UNIPILE_REQUEST_TIMEOUT: '1s',
    },
  });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('every answer forbids framing, caching, sniffing and referrers; pages run no script', async () => {
    const page = await fetch(`${stack.api.url}/connect/done?token=nope`);
    const api = await stack.api$('GET', '/api/accounts/nope');
    for (const headers of [page.headers, api.headers]) {
      const csp = headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('script-src');
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(headers.get('cache-control')).toBe('no-store');
      expect(headers.get('referrer-policy')).toBe('no-referrer');
      expect(headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  test('redirect targets must be http(s): javascript: and data: are refused naming the field', async () => {
    await stack.api$('PUT', '/api/users/redir', { email: 'redir@example.test' });
    for (const [field, url] of [
      ['successRedirectUrl', 'javascript:alert(document.cookie)'],
      ['failureRedirectUrl', 'data:text/html,<script>alert(1)</script>'],
      ['failureRedirectUrl', ''], // once a 500: the refinement threw on what url() had refused
    ] as const) {
      const res = await stack.api$('POST', '/api/users/redir/connect-link', { [field]: url });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toContain(field);
    }
    const ok = await stack.api$('POST', '/api/users/redir/connect-link', {
      successRedirectUrl: 'https://app.example.test/done',
    });
    expect(ok.status).toBe(201);
  });

  test("Unipile's answers map to what the caller can do: refused 502, rate limited 429, down or slow 503", async () => {
    await stack.api$('PUT', '/api/users/upstream', { email: 'upstream@example.test' });
    const link = () => stack.api$('POST', '/api/users/upstream/connect-link', {});
    stack.script('hosted_link', [
      { result: 'http_error', status: 401, type: 'errors/invalid_api_key' },
      { result: 'http_error', status: 429 },
      { result: 'http_error', status: 503 },
      { result: 'succeed', delayMs: 1500 },
    ]);
    const refused = await link();
    expect(refused.status).toBe(502);
    expect(refused.json.error).toEqual({
      code: 'unipile_refused',
      message: 'Unipile refused the request: 401 errors/invalid_api_key',
    });
    const limited = await link();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const down = await link();
    expect(down.status).toBe(503);
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
    const slow = await link();
    expect(slow.status).toBe(503);
    expect((await link()).status).toBe(201);
    for (const answer of [refused, limited, down, slow]) expect(answer.text).not.toContain(stack.apiKey);
  });

  test('cookie posts are limited per extension token (429 with Retry-After); other tokens are not affected', async () => {
    await stack.api$('PUT', '/api/users/flood', { email: 'flood@example.test' });
    const token = await stack.extensionToken('flood');
    const other = await stack.extensionToken('flood');
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<Stack['postCookies']>> | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await stack.postCookies(token, cookieBody(`AQEDAflood-cookie-${i}`, 'member-flood'));
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 429, 429, 429]);
    const retryAfter = Number(limited!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited!.json.error.code).toBe('rate_limited');
    expect((await stack.postCookies(other, cookieBody('AQEDAflood-cookie-x', 'member-flood'))).status).toBe(202);
  });

  test('a user may send cookies for a few LinkedIn members; a new one past the cap is refused', async () => {
    await stack.api$('PUT', '/api/users/members', { email: 'members@example.test' });
    const token = await stack.extensionToken('members');
    expect((await stack.postCookies(token, cookieBody('AQEDAmember-one-1', 'm-1'))).status).toBe(202);
    expect((await stack.postCookies(token, cookieBody('AQEDAmember-two-1', 'm-2'))).status).toBe(202);
    const third = await stack.postCookies(token, cookieBody('AQEDAmember-three', 'm-3'));
    expect(third.status).toBe(409);
    expect(third.json.error.code).toBe('too_many_members');
    // Members already known keep working.
    expect((await stack.postCookies(token, cookieBody('AQEDAmember-one-2', 'm-1'))).status).toBe(202);
  });

  test('forwarded receipts are deleted after RECEIPT_RETENTION; the account state stays', async () => {
    const accountId = await stack.connectedAccount({ userId: 'retained', provider: 'WHATSAPP' });
    const mine = async (state: string) =>
      (
        (await stack.api$('GET', `/api/receipts?state=${state}&limit=500`)).json.items as { accountId: string }[]
      ).filter((r) => r.accountId === accountId).length;
    expect((await stack.postWebhook(accountId, 'CONNECTING', 'WHATSAPP')).status).toBe(200);
    await waitFor(async () => (await mine('pending')) === 0, 30_000, 'forwarded');
    await waitFor(async () => (await mine('forwarded')) === 0, 30_000, 'forwarded receipts pruned');
    expect((await stack.api$('GET', `/api/accounts/${accountId}`)).json.status).toBe('CONNECTING');
  });

  test('webhooks are limited per source address: past the limit 429 with Retry-After, nothing stored', async () => {
    const account = stack.sim.createAccount({ type: 'LINKEDIN' });
    const storedSoFar = async () => {
      const text = await (await fetch(`${stack.api.url}/metrics`)).text();
      const line = /unipile_webhooks_received_total\{source="account_status",result="stored"\} (\d+)/.exec(text);
      return Number(line?.[1] ?? 0);
    };
    const before = await storedSoFar();
    const answers = await Promise.all(
      Array.from({ length: 60 }, () => stack.postWebhook(account.id, 'CONNECTING', 'LINKEDIN')),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    const accepted = statuses.filter((s) => s === 200).length;
    // 40 a minute from this address, some of which earlier tests used.
    expect(accepted).toBeLessThanOrEqual(40);
    expect(accepted).toBeGreaterThan(0);
    const limited = answers.find((a) => a.status === 429)!;
    expect(limited.json.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // Only the accepted ones were stored.
    expect((await storedSoFar()) - before).toBe(accepted);
  });
});
