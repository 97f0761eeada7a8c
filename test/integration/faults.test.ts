import { maybeRecordHistory } from '../helpers/histories';
import { recordReliability } from '../helpers/reliability';
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
    await stack.smtp.goDown();
    expect((await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH')).status).toBe(200);
    await sleep(30_000);
    const downMs = await stack.smtp.comeBack();
    await waitFor(() => actionNeeded(stack, 'smtp-30@example.test').length > 0, 60_000, 'the email');
    await sleep(3000);
    const emails = actionNeeded(stack, 'smtp-30@example.test').length;
    expect(emails).toBe(1);
    const handle = stack.client.workflow.getHandle(`account-${accountId}`);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    recordReliability({
      injected: `SMTP port closed for ${Math.round(downMs / 1000)} s as the first email fell due`,
      times: 1,
      expected: 'the send is retried (1 s doubling) and delivered once SMTP is back; workflow running',
      observed: `${emails} email(s); workflow ${(await handle.describe()).status.name}`,
      eventsLost: 0,
      emailsLost: Math.max(0, 1 - emails),
      duplicateEmails: Math.max(0, emails - 1),
    });
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
    stack.sim.emitStatus(accountId, 'ERROR');
    await stack.waitForEvent(accountId, 'incident_closed');
    const calls = stack.restartCalls(accountId).length;
    expect(calls).toBe(4);
    const attempts = (await stack.events(accountId)).filter((e) => e.type === 'attempt');
    expect(attempts.map((a) => a.data.outcome)).toEqual(['succeeded']);
    const view = await stack.accountWhen(accountId, (a) => a.status === 'OK');
    expect(view.recovery).toBe('NONE');
    expect(actionNeeded(stack, 'flaky-unipile@example.test')).toHaveLength(0);
    recordReliability({
      injected: 'Unipile restart answering 503, then 429, then slower than UNIPILE_REQUEST_TIMEOUT, then 200',
      times: 3,
      expected: 'one recovery attempt, retried inside itself (4 tries), succeeds; no email',
      observed: `${calls} calls, ${attempts.length} attempt (${attempts[0]?.data.outcome}); status ${view.status}`,
      eventsLost: 0,
      emailsLost: 0,
      duplicateEmails: 0,
    });
  });

  test('500 concurrent copies of one webhook: one transition, one email', async () => {
    const accountId = await stack.connectedAccount({ userId: 'dupes', provider: 'OUTLOOK' });
    const answers = await Promise.all(
      Array.from({ length: 500 }, () => stack.postWebhook(accountId, 'CREDENTIALS', 'OUTLOOK')),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await waitFor(async () => (await pendingFor(stack, accountId)) === 0, 60_000, 'all copies forwarded');
    await waitFor(() => actionNeeded(stack, 'dupes@example.test').length > 0, 30_000, 'the email');
    await sleep(3000);
    const changes = await statusChanges(stack, accountId);
    expect(changes).toEqual(['OK', 'CREDENTIALS']);
    const emails = actionNeeded(stack, 'dupes@example.test').length;
    expect(emails).toBe(1);
    recordReliability({
      injected: '500 identical CREDENTIALS webhooks posted at once',
      times: 500,
      expected: 'all answered 200 and stored; one status change, one email',
      observed: `${answers.filter((a) => a.status === 200).length} × 200; changes ${changes.join(' → ')}; ${emails} email(s)`,
      eventsLost: 0,
      emailsLost: Math.max(0, 1 - emails),
      duplicateEmails: Math.max(0, emails - 1),
    });
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
    await stack.smtp.goDown();
    expect((await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH')).status).toBe(200);
    await stack.waitForEvent(accountId, 'email_failed', 2);
    const handle = stack.client.workflow.getHandle(`account-${accountId}`);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const downMs = await stack.smtp.comeBack();
    await waitFor(() => actionNeeded(stack, 'smtp-long@example.test').length > 0, 30_000, 'the email');
    await sleep(3000);
    const emails = actionNeeded(stack, 'smtp-long@example.test').length;
    expect(emails).toBe(1);
    const failures = (await stack.events(accountId)).filter((e) => e.type === 'email_failed').length;
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'email-failed-then-sent');
    recordReliability({
      injected: `SMTP port closed ${Math.round(downMs / 1000)} s, past two whole send budgets (2 tries each)`,
      times: 1,
      expected: 'email_failed journalled per budget, workflow running, sent once SMTP is back',
      observed: `${failures} email_failed, workflow ${(await handle.describe()).status.name}, ${emails} email(s)`,
      eventsLost: 0,
      emailsLost: Math.max(0, 1 - emails),
      duplicateEmails: Math.max(0, emails - 1),
    });
  });
});
