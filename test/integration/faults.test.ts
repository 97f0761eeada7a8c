import { maybeRecordHistory } from '../helpers/histories';
import { EventLedger, recordReliability } from '../helpers/reliability';
import { sleep, Stack, waitFor } from '../helpers/stack';

// Faults injected for real against the running stack; each case records what it measured for docs/RELIABILITY.md.
const actionNeeded = (stack: Stack, address: string) =>
  stack.smtp.messages.filter((m) => m.to.includes(address) && m.subject.startsWith('Action needed'));

async function statusChanges(stack: Stack, accountId: string): Promise<string[]> {
  const res = await stack.api$('GET', `/api/accounts/${accountId}/events?limit=200`);
  return (res.json.items as { type: string; data: { to?: string } }[])
    .filter((e) => e.type === 'status_changed')
    .map((e) => e.data.to!)
    .reverse();
}

/** The email activity's attempts so far, as the Temporal UI shows them on the running workflow. */
async function emailAttempts(stack: Stack, accountId: string): Promise<{ attempts: number; lastFailure: string }> {
  const { raw } = await stack.client.workflow.getHandle(`account-${accountId}`).describe();
  const pending = (raw.pendingActivities ?? []).find((a) => a.activityType?.name === 'sendAccountEmail');
  return { attempts: pending?.attempt ?? 0, lastFailure: pending?.lastFailure?.message ?? '' };
}

async function pendingFor(stack: Stack, accountId: string): Promise<number> {
  const res = await stack.api$('GET', '/api/receipts?state=pending&limit=500');
  return (res.json.items as { accountId: string }[]).filter((r) => r.accountId === accountId).length;
}

describe('faults: SMTP, Unipile and duplicate webhooks', () => {
  const stack = new Stack({
    env: {
      RECONNECT_RETRY_INTERVAL: '3s',
      RECONNECT_MAX_RETRIES: '1',
      REMINDER_SCHEDULE: '',
      EMAIL_RETRY_INTERVAL: '1s',
      UNIPILE_REQUEST_TIMEOUT: '2s',
    },
  });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('SMTP down for 30 s when the email is due: it arrives once SMTP is back, exactly once', async () => {
    const accountId = await stack.connectedAccount({ userId: 'smtp-30', provider: 'GOOGLE' });
    const ledger = new EventLedger(stack, [accountId]);
    await ledger.mark();
    await stack.smtp.goDown();
    const posted = await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH');
    // Sends are tried during the outage (the email activity retries, 1 s doubling), not only after it.
    let during = { attempts: 0, lastFailure: '' };
    await waitFor(
      async () => (during = await emailAttempts(stack, accountId)).attempts >= 2,
      30_000,
      'a second send attempt while SMTP is down',
    ).catch(() => undefined);
    await sleep(Math.max(0, 30_000 - stack.smtp.downFor()));
    const downMs = await stack.smtp.comeBack();
    await waitFor(() => actionNeeded(stack, 'smtp-30@example.test').length > 0, 60_000, 'the email').catch(
      () => undefined,
    );
    await sleep(3000);
    const emails = actionNeeded(stack, 'smtp-30@example.test').length;
    const handle = stack.client.workflow.getHandle(`account-${accountId}`);
    const status = (await handle.describe()).status.name;
    const events = await ledger.count([{ message: 'CREDENTIALS', accepted: posted.status === 200 ? 1 : 0 }]);
    recordReliability({
      injected: `SMTP port closed for ${Math.round(downMs / 1000)} s as the first email fell due`,
      times: 1,
      expected: 'sends tried during the outage (1 s doubling); delivered once SMTP is back; workflow running',
      observed: `${during.attempts} send attempts during the outage (${during.lastFailure.slice(0, 60)}); ${emails} email(s); workflow ${status}`,
      eventsLost: events.lost,
      emailsLost: Math.max(0, 1 - emails),
      duplicateEmails: Math.max(0, emails - 1),
    });
    expect(posted.status).toBe(200);
    expect(during.attempts).toBeGreaterThanOrEqual(2);
    expect(during.lastFailure).toMatch(/ECONNREFUSED|email not sent/);
    expect(emails).toBe(1);
    expect(status).toBe('RUNNING');
    expect(events.lost).toBe(0);
  });

  test('Unipile answering 503, 429 and too slowly inside one attempt: the attempt retries and succeeds', async () => {
    const accountId = await stack.connectedAccount({ userId: 'flaky-unipile', provider: 'WHATSAPP' });
    stack.script(
      'restart',
      [
        { result: 'http_error', status: 503 },
        { result: 'http_error', status: 429 },
        { result: 'succeed', delayMs: 3000 }, // past UNIPILE_REQUEST_TIMEOUT (2 s): a timeout
        { result: 'succeed' },
      ],
      accountId,
    );
    const ledger = new EventLedger(stack, [accountId]);
    stack.sim.emitStatus(accountId, 'ERROR');
    await stack.waitForEvent(accountId, 'incident_closed');
    const calls = stack.restartCalls(accountId).length;
    const attempts = (await stack.events(accountId)).filter((e) => e.type === 'attempt');
    const view = await stack.accountWhen(accountId, (a) => a.status === 'OK');
    const emails = actionNeeded(stack, 'flaky-unipile@example.test').length;
    const events = await ledger.count();
    recordReliability({
      injected: 'Unipile restart answering 503, then 429, then slower than UNIPILE_REQUEST_TIMEOUT, then 200',
      times: 3,
      expected: 'one recovery attempt, retried inside itself (4 tries), succeeds; no email',
      observed: `${calls} calls, ${attempts.length} attempt (${attempts[0]?.data.outcome}); status ${view.status}; ${emails} email(s)`,
      eventsLost: events.lost,
      // No email is due, so none can be lost; one sent would be a copy too many.
      emailsLost: null,
      duplicateEmails: emails,
    });
    expect(calls).toBe(4);
    expect(attempts.map((a) => a.data.outcome)).toEqual(['succeeded']);
    expect(view.recovery).toBe('NONE');
    expect(emails).toBe(0);
    expect(events.lost).toBe(0);
  });

  test('500 concurrent copies of one webhook: one transition, one email', async () => {
    const accountId = await stack.connectedAccount({ userId: 'dupes', provider: 'OUTLOOK' });
    const ledger = new EventLedger(stack, [accountId]);
    await ledger.mark();
    const answers = await Promise.all(
      Array.from({ length: 500 }, () => stack.postWebhook(accountId, 'CREDENTIALS', 'OUTLOOK')),
    );
    const accepted = answers.filter((a) => a.status === 200).length;
    await waitFor(async () => (await pendingFor(stack, accountId)) === 0, 60_000, 'all copies forwarded').catch(
      () => undefined,
    );
    await waitFor(() => actionNeeded(stack, 'dupes@example.test').length > 0, 30_000, 'the email').catch(
      () => undefined,
    );
    await sleep(3000);
    const changes = await statusChanges(stack, accountId);
    const emails = actionNeeded(stack, 'dupes@example.test').length;
    const events = await ledger.count([{ message: 'CREDENTIALS', accepted }]);
    recordReliability({
      injected: '500 identical CREDENTIALS webhooks posted at once',
      times: 500,
      expected: 'all answered 200, stored and delivered; one status change, one email',
      observed: `${accepted} × 200; ${events.stored} receipts, ${events.delivered} delivered; changes ${changes.join(' → ')}; ${emails} email(s)`,
      eventsLost: events.lost,
      emailsLost: Math.max(0, 1 - emails),
      duplicateEmails: Math.max(0, emails - 1),
    });
    expect(accepted).toBe(500);
    expect(changes).toEqual(['OK', 'CREDENTIALS']);
    expect(emails).toBe(1);
    expect(events.lost).toBe(0);
  });
});

describe('faults: SMTP down longer than the email retry budget', () => {
  const stack = new Stack({
    env: {
      RECONNECT_RETRY_INTERVAL: '2s',
      REMINDER_SCHEDULE: '',
      EMAIL_SEND_ATTEMPTS: '2',
      EMAIL_RETRY_INTERVAL: '300ms',
    },
  });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('the workflow records each exhausted budget, keeps running, and sends once SMTP is back', async () => {
    const accountId = await stack.connectedAccount({ userId: 'smtp-long', provider: 'GOOGLE' });
    const ledger = new EventLedger(stack, [accountId]);
    await ledger.mark();
    await stack.smtp.goDown();
    const posted = await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH');
    await stack.waitForEvent(accountId, 'email_failed', 2);
    const handle = stack.client.workflow.getHandle(`account-${accountId}`);
    const statusDuring = (await handle.describe()).status.name;
    const downMs = await stack.smtp.comeBack();
    await waitFor(() => actionNeeded(stack, 'smtp-long@example.test').length > 0, 30_000, 'the email').catch(
      () => undefined,
    );
    await sleep(3000);
    const emails = actionNeeded(stack, 'smtp-long@example.test').length;
    const failures = (await stack.events(accountId)).filter((e) => e.type === 'email_failed').length;
    const statusAfter = (await handle.describe()).status.name;
    const events = await ledger.count([{ message: 'CREDENTIALS', accepted: posted.status === 200 ? 1 : 0 }]);
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'email-failed-then-sent');
    recordReliability({
      injected: `SMTP port closed ${Math.round(downMs / 1000)} s, past two whole send budgets (2 tries each)`,
      times: 1,
      expected: 'email_failed journalled per budget, workflow running, sent once SMTP is back',
      observed: `${failures} email_failed, workflow ${statusDuring} during and ${statusAfter} after, ${emails} email(s)`,
      eventsLost: events.lost,
      emailsLost: Math.max(0, 1 - emails),
      duplicateEmails: Math.max(0, emails - 1),
    });
    expect(posted.status).toBe(200);
    expect(statusDuring).toBe('RUNNING');
    expect(emails).toBe(1);
    expect(statusAfter).toBe('RUNNING');
    expect(events.lost).toBe(0);
  });
});
