import { randomBytes } from 'node:crypto';
import { maybeRecordHistory } from '../helpers/histories';
import { recordReliability } from '../helpers/reliability';
import { cookieBody, Stack, waitFor } from '../helpers/stack';

// One extension token must not spend the Unipile capacity every user's recovery shares: while an account has an open
// incident, new cookies trigger at most one reconnect per CONNECT_RETRY_INTERVAL beyond the first, the newest cookie
// waiting for the next slot. RECONNECT_MAX_RETRIES=0: the incident's own schedule is one attempt, at once.
const INTERVAL_MS = 4000;
const COOKIES = 1000;
/** Secrets of the length configuration requires (the shared test defaults may be shorter). */
const LONG_SECRETS = {
  API_TOKEN: 'test-api-token-cookie-budget',
  UNIPILE_WEBHOOK_SECRET: 'test-webhook-secret-cookie-budget',
  SIGNING_SECRET: 'test-signing-secret-cookie-budget',
};

describe('cookie reconnect budget', () => {
  const stack = new Stack({
    env: {
      CONNECT_RETRY_INTERVAL: `${INTERVAL_MS / 1000}s`,
      RECONNECT_MAX_RETRIES: '0',
      // The per-process extension limit would refuse most of the flood first: raised so the budget is what is tested.
      EXTENSION_RATE_LIMIT: '100000',
      ...LONG_SECRETS,
    },
  });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  /** Every attempt the API shows for the account (its event history, paged). */
  async function apiAttempts(accountId: string): Promise<{ trigger: string; fingerprint?: string }[]> {
    const found: { trigger: string; fingerprint?: string }[] = [];
    let before: number | null = null;
    for (;;) {
      const page = await stack.api$(
        'GET',
        `/api/accounts/${accountId}/events?limit=200${before ? `&before=${before}` : ''}`,
      );
      for (const e of page.json.items) if (e.type === 'attempt') found.push(e.data);
      before = page.json.nextCursor;
      if (!before) return found;
    }
  }

  test(`${COOKIES} random cookies in an open incident cause at most 1 + one per interval reconnects`, async () => {
    const { accountId, token } = await stack.linkedinAccount('budget-1', 'member-budget', 'AQEDAbudget-cookie-0000');
    stack.script(
      'reconnect',
      Array.from({ length: 3 * COOKIES }, () => ({ result: 'fail' as const })),
      accountId,
    );
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    // The incident's one scheduled attempt, so that every later call is one a cookie triggered.
    await waitFor(async () => (await apiAttempts(accountId)).length === 1, 30_000, 'the scheduled attempt');
    expect(stack.reconnectCalls(accountId)).toHaveLength(1);

    const started = Date.now();
    const liAt = () => `AQEDA${randomBytes(16).toString('hex')}`;
    const statuses: number[] = [];
    for (let i = 0; i < COOKIES - 1; i += 10) {
      const batch = Array.from({ length: Math.min(10, COOKIES - 1 - i) }, () =>
        stack.postCookies(token, cookieBody(liAt(), 'member-budget')),
      );
      for (const res of await Promise.all(batch)) statuses.push(res.status);
    }
    // The last one alone, so that it is the newest stored: the attempt after the flood must use it.
    const newest = liAt();
    statuses.push((await stack.postCookies(token, cookieBody(newest, 'member-budget'))).status);
    const postedMs = Date.now() - started;

    const cookieCalls = () => stack.reconnectCalls(accountId).slice(1);
    const receipts = async (state: string) =>
      (await stack.api$('GET', `/api/receipts?state=${state}&limit=500`)).json.items.filter(
        (r: { accountId: string }) => r.accountId === accountId,
      ).length;
    // Every cookie has reached the workflow (the API forwards one account's events in order, one at a time), and the
    // newest cookie has been tried.
    await waitFor(async () => (await receipts('pending')) === 0, 300_000, 'every cookie event forwarded');
    await waitFor(
      () => cookieCalls().some((c) => (c.body as { access_token?: string }).access_token === newest),
      2 * INTERVAL_MS + 30_000,
      'a reconnect with the newest cookie',
    );
    const elapsedMs = Date.now() - started;
    const calls = cookieCalls();
    const budget = 1 + Math.ceil(elapsedMs / INTERVAL_MS);
    const gaps = calls.slice(1).map((c, i) => Date.parse(c.at) - Date.parse(calls[i]!.at));
    // What a client reads: one attempt per call (a refused reconnect is not retried), and a bounded view.
    let shown: { trigger: string }[] = [];
    await waitFor(
      async () => {
        shown = (await apiAttempts(accountId)).filter((a) => a.trigger === 'new_cookie');
        return shown.length >= calls.length;
      },
      30_000,
      'the attempts in the API',
    );
    const callsAfter = cookieCalls().length; // a slot may have come meanwhile
    const view = (await stack.api$('GET', `/api/accounts/${accountId}`)).json.workflow;
    const unforwarded = (await receipts('pending')) + (await receipts('dead'));
    const emails = stack.smtp.messages.filter((m) => m.to.includes('budget-1@example.test')).length;
    recordReliability({
      kind: 'abuse',
      injected: `${COOKIES} different random li_at cookies posted through the extension endpoint in ${Math.round(postedMs / 1000)} s for one LinkedIn account in an open CREDENTIALS incident`,
      times: COOKIES,
      expected: `1 immediate reconnect, then at most one per CONNECT_RETRY_INTERVAL (${INTERVAL_MS / 1000} s), the newest cookie in the last: ≤ ${budget} in ${Math.round(elapsedMs / 1000)} s`,
      observed: `${statuses.filter((s) => s === 202).length} × 202; ${calls.length} cookie reconnect calls at Unipile (smallest gap ${gaps.length ? Math.min(...gaps) : '-'} ms), ${shown.length} shown by the API, ${view.incident.attempts.length} listed in the view; newest cookie tried`,
      eventsLost: unforwarded,
      emailsLost: Math.max(0, 1 - emails),
      // The first email and the two reminders of REMINDER_SCHEDULE are all the account may get.
      duplicateEmails: Math.max(0, emails - 3),
    });

    expect(statuses.every((s) => s === 202)).toBe(true);
    expect(calls.length).toBeGreaterThanOrEqual(2); // the newest cookie got a later slot: the budget was applied
    expect(calls.length).toBeLessThanOrEqual(budget);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS - 100);
    expect(shown.length).toBeGreaterThanOrEqual(calls.length);
    expect(shown.length).toBeLessThanOrEqual(callsAfter);
    expect(view.incident.attempts.length).toBeLessThanOrEqual(20);
    expect(unforwarded).toBe(0);
  }, 600_000);

  test('a newer cookie inside the interval waits on a durable timer for the next slot, which tries the newest', async () => {
    const { accountId, token } = await stack.linkedinAccount('budget-2', 'member-slot', 'AQEDAslot-cookie-0000');
    stack.script(
      'reconnect',
      Array.from({ length: 10 }, () => ({ result: 'fail' as const })),
      accountId,
    );
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await waitFor(async () => (await apiAttempts(accountId)).length === 1, 30_000, 'the scheduled attempt');
    const tokenOf = (i: number) =>
      (stack.reconnectCalls(accountId)[i]?.body as { access_token?: string })?.access_token;

    await stack.postCookies(token, cookieBody('AQEDAslot-cookie-first', 'member-slot'));
    await waitFor(() => stack.reconnectCalls(accountId).length === 2, 30_000, 'the first cookie tried at once');
    expect(tokenOf(1)).toBe('AQEDAslot-cookie-first');
    await stack.postCookies(token, cookieBody('AQEDAslot-cookie-second', 'member-slot'));
    await stack.postCookies(token, cookieBody('AQEDAslot-cookie-third', 'member-slot'));
    // The client sees when the next attempt is due: one interval after the first cookie's.
    const waiting = await stack.accountWhen(accountId, (a) => a.workflow?.nextAttemptAt !== null, 30_000);
    const firstAt = Date.parse(stack.reconnectCalls(accountId)[1]!.at);
    expect(Date.parse(waiting.workflow.nextAttemptAt) - firstAt).toBeGreaterThanOrEqual(INTERVAL_MS - 1000);
    await waitFor(() => stack.reconnectCalls(accountId).length === 3, 2 * INTERVAL_MS + 30_000, 'the next slot');
    const gap = Date.parse(stack.reconnectCalls(accountId)[2]!.at) - firstAt;
    expect(gap).toBeGreaterThanOrEqual(INTERVAL_MS - 100);
    expect(tokenOf(2)).toBe('AQEDAslot-cookie-third'); // the newest; the second was never sent
    // Newest first, as the API lists them; Unipile sees the call before the workflow has recorded its outcome.
    await waitFor(async () => (await apiAttempts(accountId)).length >= 3, 30_000, 'the slot attempt in the API');
    expect((await apiAttempts(accountId)).map((a) => a.trigger)).toEqual(['new_cookie', 'new_cookie', 'schedule']);
    stack.sim.emitStatus(accountId, 'OK');
    await stack.waitForEvent(accountId, 'incident_closed');
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'linkedin-cookie-budget-slot');
  });
});
