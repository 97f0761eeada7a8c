import { Stack, sleep, waitFor } from '../helpers/stack';
import { maybeRecordHistory } from '../helpers/histories';

// Shortened policy from configuration (see Stack): RECONNECT_RETRY_INTERVAL=2s, RECONNECT_MAX_RETRIES=2 (3 attempts),
// REMINDER_SCHEDULE=3s,6s.
describe('account incidents', () => {
  const stack = new Stack();
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const mailsTo = (email: string) => stack.smtp.messages.filter((m) => m.to.includes(email));

  test('CREDENTIALS on Gmail → one reconnect_needed email whose link opens a fresh hosted link; OK closes it, no reminder', async () => {
    const accountId = await stack.connectedAccount({
      userId: 'gmail-user',
      email: 'grace@example.test',
      provider: 'GOOGLE',
    });
    stack.sim.emitStatus(accountId, 'CREDENTIALS');

    await waitFor(() => mailsTo('grace@example.test').length === 1, 30_000, 'reconnect email');
    const [mail] = mailsTo('grace@example.test');
    expect(mail!.subject).toContain('Gmail');
    expect(mail!.text).toContain(accountId);
    expect(mail!.html).toContain('<a href=');
    const link = /(http:\/\/\S+\/accounts\/\S+\/reconnect\?token=\S+)/.exec(mail!.text)?.[1];
    expect(link).toBeDefined();

    // Backend reads answer from what the workflow persisted, right after the email is recorded.
    const detail = { json: await stack.accountWhen(accountId, (a) => a.workflow?.incident?.emails?.length === 1) };
    expect(detail.json).toMatchObject({ status: 'CREDENTIALS', recovery: 'WAITING_FOR_USER', live: false });
    expect(detail.json.workflow.incident.emails).toEqual([
      expect.objectContaining({ kind: 'reconnect_needed', outcome: 'sent' }),
    ]);

    const redirect = await fetch(link!, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const hosted = redirect.headers.get('location')!;
    expect(hosted.startsWith(`${stack.sim.url}/hosted/`)).toBe(true);
    const linkCall = stack.sim.calls.filter((c) => c.path === '/api/v1/hosted/accounts/link').pop();
    expect(linkCall!.body).toMatchObject({ type: 'reconnect', reconnect_account: accountId });

    // The user reconnects through the wizard: RECONNECTED → OK closes the incident.
    await fetch(hosted, { method: 'POST', redirect: 'manual', body: new URLSearchParams({}) });
    await stack.waitForEvent(accountId, 'incident_closed');
    expect((await stack.accountRow(accountId)).status).toBe('OK');

    await sleep(7000); // past both reminder offsets
    expect(mailsTo('grace@example.test')).toHaveLength(1);
    const types = (await stack.events(accountId)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['incident_opened', 'email', 'incident_closed']));
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'needs-auth-email-then-reconnected');
  });

  test('reminders arrive on the shortened schedule and stop after recovery', async () => {
    const accountId = await stack.connectedAccount({
      userId: 'reminded',
      email: 'rem@example.test',
      provider: 'OUTLOOK',
    });
    stack.sim.emitStatus(accountId, 'PERMISSIONS');
    await waitFor(() => mailsTo('rem@example.test').length === 2, 30_000, 'first reminder');
    // Reminder 1 is due 3 s after the first email: not before, and well before reminder 2 (6 s).
    const [first, reminder] = mailsTo('rem@example.test');
    const gap = reminder!.receivedAt - first!.receivedAt;
    expect(gap).toBeGreaterThanOrEqual(2800);
    expect(gap).toBeLessThan(6000); // not reminder 2, which is due 6 s after the email
    expect(mailsTo('rem@example.test')[1]!.subject).toMatch(/^Reminder/);

    stack.sim.emitStatus(accountId, 'OK');
    await stack.waitForEvent(accountId, 'incident_closed');
    await sleep(5000); // reminder 2 would be due 6s after the first email
    expect(mailsTo('rem@example.test')).toHaveLength(2);
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'reminders');
  });

  test('ERROR → restarts on the interval; a successful restart closes the incident without email', async () => {
    const accountId = await stack.connectedAccount({
      userId: 'err-ok',
      email: 'errok@example.test',
      provider: 'WHATSAPP',
    });
    stack.script('restart', [{ result: 'fail' }, { result: 'fail' }, { result: 'succeed' }], accountId);
    stack.sim.emitStatus(accountId, 'ERROR');

    await stack.waitForEvent(accountId, 'incident_closed');
    const calls = stack.restartCalls(accountId);
    expect(calls).toHaveLength(3);
    const gaps = calls.slice(1).map((c, i) => Date.parse(c.at) - Date.parse(calls[i]!.at));
    for (const gap of gaps) {
      // The 2 s interval: never sooner; later only by what 2 shared cores may add (a stuck timer would show).
      expect(gap).toBeGreaterThanOrEqual(1900);
      expect(gap).toBeLessThanOrEqual(7000);
    }
    expect((await stack.accountRow(accountId)).status).toBe('OK');
    const attempts = (await stack.events(accountId)).filter((e) => e.type === 'attempt');
    expect(attempts.map((a) => a.data.outcome)).toEqual(['failed', 'failed', 'succeeded']);
    // The incident is journalled in order: an email it sent or decided on would stand before incident_closed.
    expect((await stack.events(accountId)).filter((e) => e.type === 'email')).toEqual([]);
    expect(mailsTo('errok@example.test')).toHaveLength(0);
  });

  test('ERROR with every restart failing → 1 + RECONNECT_MAX_RETRIES attempts, then exactly one email', async () => {
    const accountId = await stack.connectedAccount({
      userId: 'err-fail',
      email: 'errfail@example.test',
      provider: 'LINKEDIN',
    });
    stack.script(
      'restart',
      [{ result: 'fail' }, { result: 'http_error', status: 401, type: 'disconnected_account' }, { result: 'fail' }],
      accountId,
    );
    stack.sim.emitStatus(accountId, 'ERROR');

    await waitFor(() => mailsTo('errfail@example.test').length === 1, 30_000, 'escalation email');
    expect(stack.restartCalls(accountId)).toHaveLength(3);
    const detail = { json: await stack.accountWhen(accountId, (a) => a.workflow?.incident?.emails?.length === 1) };
    expect(detail.json.workflow.incident.attempts).toHaveLength(3);
    expect(detail.json.workflow.incident.attempts[1]).toMatchObject({
      outcome: 'failed',
      errorType: 'errors/disconnected_account',
    });
    expect(detail.json.workflow.recovery).toBe('WAITING_FOR_USER');
    expect(detail.json.workflow.nextEmailAt).not.toBeNull();

    stack.sim.emitStatus(accountId, 'OK');
    await stack.waitForEvent(accountId, 'incident_closed');
    expect(stack.restartCalls(accountId)).toHaveLength(3);
    expect(mailsTo('errfail@example.test')).toHaveLength(1);
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'sync-error-escalation');
  });

  test('a transient 5xx inside one attempt is retried within the attempt', async () => {
    const accountId = await stack.connectedAccount({
      userId: 'flaky',
      email: 'flaky@example.test',
      provider: 'TELEGRAM',
    });
    stack.script(
      'restart',
      [{ result: 'http_error', status: 503, type: 'network_down' }, { result: 'succeed' }],
      accountId,
    );
    stack.sim.emitStatus(accountId, 'STOPPED');
    await stack.waitForEvent(accountId, 'incident_closed');
    expect(stack.restartCalls(accountId)).toHaveLength(2);
    const attempts = (await stack.events(accountId)).filter((e) => e.type === 'attempt');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.data).toMatchObject({ n: 1, outcome: 'succeeded' });
  });

  test('the same webhook delivered 3 times → one transition, one email', async () => {
    const accountId = await stack.connectedAccount({ userId: 'dup', email: 'dup@example.test', provider: 'GOOGLE' });
    for (let i = 0; i < 3; i++)
      expect((await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH')).status).toBe(200);
    await waitFor(() => mailsTo('dup@example.test').length === 1, 30_000, 'one email');
    // Wait for the first reminder (3 s later): the workflow sends on after the first email, so a second copy of it
    // from a duplicate webhook would have arrived by then.
    await waitFor(
      () => mailsTo('dup@example.test').some((m) => m.subject.startsWith('Reminder')),
      30_000,
      'the first reminder',
    );
    expect(mailsTo('dup@example.test').filter((m) => m.subject.startsWith('Action needed'))).toHaveLength(1);
    const events = await stack.events(accountId);
    expect(events.filter((e) => e.type === 'status_changed' && e.data.to === 'CREDENTIALS')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'incident_opened')).toHaveLength(1);
    const receipts = await stack.db('webhook_receipts').where({ account_id: accountId, message: 'CREDENTIALS' });
    expect(receipts).toHaveLength(3);
  });

  test('no contact on file → incident recorded as no_contact, nothing sent', async () => {
    const accountId = await stack.connectedAccount({ userId: 'nobody', email: null, provider: 'GOOGLE' });
    const before = stack.smtp.messages.length;
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await waitFor(
      async () => (await stack.db('email_log').where({ account_id: accountId })).length === 1,
      30_000,
      'email log',
    );
    expect((await stack.db('email_log').where({ account_id: accountId }).first()).status).toBe('no_contact');
    // The activity decides no_contact before it would send: once the incident journals it, nothing can follow.
    await waitFor(
      async () => (await stack.events(accountId)).some((e) => e.type === 'email' && e.data.outcome === 'no_contact'),
      30_000,
      'no_contact journalled',
    );
    expect(stack.smtp.messages.length).toBe(before);
  });

  test('DELETED → workflow completes; later events are recorded and ignored', async () => {
    const accountId = await stack.connectedAccount({
      userId: 'gone',
      email: 'gone@example.test',
      provider: 'INSTAGRAM',
    });
    const handle = stack.client.workflow.getHandle(`account-${accountId}`);
    expect((await stack.api$('DELETE', `/api/accounts/${accountId}`)).status).toBe(202);
    await waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', 30_000, 'workflow completed');
    await waitFor(async () => (await stack.accountRow(accountId))?.status === 'DELETED', 30_000, 'row DELETED');

    expect((await stack.postWebhook(accountId, 'CREDENTIALS', 'INSTAGRAM')).status).toBe(200);
    await waitFor(
      async () =>
        (await stack.events(accountId)).some((e) => e.type === 'event_ignored' && e.data.message === 'CREDENTIALS'),
      30_000,
      'ignored event recorded',
    );
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(mailsTo('gone@example.test')).toHaveLength(0);
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'deleted');
  });

  test('a long-lived account continues as new with its state carried over', async () => {
    const CHANGES = 50;
    const accountId = await stack.connectedAccount({
      userId: 'busy',
      email: 'busy@example.test',
      provider: 'LINKEDIN',
    });
    const handle = stack.client.workflow.getHandle(`account-${accountId}`);
    const firstRunId = (await handle.describe()).runId;
    // The test server suggests continue-as-new at 100 events; every status change costs a few.
    for (let i = 0; i < CHANGES; i++) {
      await stack.postWebhook(accountId, i % 2 === 0 ? 'CONNECTING' : 'OK');
    }
    await stack.postWebhook(accountId, 'STOPPED');
    stack.script('restart', [{ result: 'succeed' }], accountId);
    await stack.waitForEvent(accountId, 'incident_closed');
    await waitFor(async () => (await handle.describe()).runId !== firstRunId, 30_000, 'a new run');

    const view = (await stack.api$('GET', `/api/accounts/${accountId}`)).json.workflow;
    expect(view).toMatchObject({ status: 'OK', recovery: 'NONE', userId: 'busy', provider: 'LINKEDIN' });
    const events = await stack.events(accountId);
    expect(events.filter((e) => e.type === 'status_changed')).toHaveLength(1 + CHANGES + 1 + 1);
    // Journal sequence numbers continue across runs: no entry lost or written twice. The sequence number is the
    // journal's own bookkeeping, not part of what the API answers, so it is read where it is kept.
    const rows = await stack.db('account_events').where({ account_id: accountId }).orderBy('id');
    const seqs = rows.map((e: any) => e.seq).filter((s: number | null) => s !== null);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(Math.max(...seqs)).toBe(seqs.length);
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'continued-as-new', firstRunId);
  });
});
