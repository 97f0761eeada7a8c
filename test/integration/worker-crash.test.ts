import type { ChildProcess } from 'node:child_process';
import { Stack, waitFor } from '../helpers/stack';
import { freePort, stopProcess } from '../helpers/temporal-dev-server';
import { spawnTs } from '../helpers/processes';
import { EventLedger, recordReliability } from '../helpers/reliability';

// The worker runs as its own process so it can be killed with SIGKILL in the middle of an incident.
describe('worker killed mid-incident', () => {
  const stack = new Stack({
    workers: false,
    // A Unipile call times out after 5 s (its activity after 10 s); an email send after 4 s (re-sent once its claim
    // is 6 s old): a worker that dies mid-call is replaced within seconds.
    env: { RECONNECT_RETRY_INTERVAL: '3s', EMAIL_SEND_TIMEOUT: '4s', EMAIL_RETRY_INTERVAL: '1s' },
  });
  const output: string[] = [];
  let worker: ChildProcess | undefined;

  // `node --import tsx`: the pid we hold is the worker itself, so SIGKILL really kills the worker (a signal to the
  // `tsx` wrapper would leave its child running).
  const startWorker = (): ChildProcess =>
    spawnTs('src/worker/main.ts', { ...stack.env, WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE! }, output);

  const killWorker = async (): Promise<void> => {
    const killed = worker!;
    killed.kill('SIGKILL');
    await new Promise((r) => killed.once('exit', r));
    expect(killed.signalCode).toBe('SIGKILL');
    expect(() => process.kill(killed.pid!, 0)).toThrow(); // the worker process is gone
    worker = startWorker();
  };

  beforeAll(async () => {
    await stack.start();
    // The spawned worker serves the SDK's metrics and ours on its own port.
    stack.env.WORKER_METRICS_PORT = String(await freePort());
    worker = startWorker();
  });
  afterAll(async () => {
    await stopProcess(worker);
    await stack.stop();
  });

  test('after SIGKILL and a restart the schedule goes on: still 1 + RECONNECT_MAX_RETRIES attempts and one email', async () => {
    const liAt = 'AQEDAcrash-cookie-000001';
    const { accountId } = await stack.linkedinAccount('crash-user', 'member-crash', liAt);
    stack.script(
      'reconnect',
      [{ result: 'fail' }, { result: 'fail' }, { result: 'fail' }, { result: 'fail' }],
      accountId,
    );
    const ledger = new EventLedger(stack, [accountId]);
    stack.sim.emitStatus(accountId, 'CREDENTIALS');

    await stack.waitForEvent(accountId, 'attempt', 1);
    const killed = worker!;
    killed.kill('SIGKILL');
    await new Promise((r) => killed.once('exit', r));
    expect(killed.signalCode).toBe('SIGKILL');
    expect(() => process.kill(killed.pid!, 0)).toThrow(); // the worker process is gone
    const killedAt = Date.now();
    worker = startWorker();

    const actionNeeded = () =>
      stack.smtp.messages.filter(
        (m) => m.to.includes('crash-user@example.test') && m.subject.startsWith('Action needed'),
      );
    await waitFor(() => actionNeeded().length > 0, 60_000, 'email').catch(() => undefined);
    // Longer than the 3 s retry interval: a fourth call or a second email would show here.
    await new Promise((r) => setTimeout(r, 3500));
    const calls = stack.reconnectCalls(accountId);
    const gaps = calls.slice(1).map((c, i) => Date.parse(c.at) - Date.parse(calls[i]!.at));
    const emails = actionNeeded().length;
    const events = await ledger.count();
    recordReliability({
      injected: 'worker process SIGKILLed after the first failed reconnect; a new worker started',
      times: 1,
      expected: '3 reconnects on the 3 s schedule, 1 email',
      observed: `${calls.length} reconnects ${gaps.map((g) => `${(g / 1000).toFixed(1)} s`).join(', ')} apart, ${emails} email(s)`,
      eventsLost: events.lost,
      emailsLost: Math.max(0, 1 - emails),
      duplicateEmails: Math.max(0, emails - 1),
    });
    expect(calls).toHaveLength(3);
    for (const gap of gaps) {
      // The interval, plus at most the time a new worker takes to start and pick the task up.
      expect(gap).toBeGreaterThanOrEqual(2900);
      expect(gap).toBeLessThanOrEqual(30_000);
    }
    expect(Date.parse(calls[2]!.at)).toBeGreaterThan(killedAt); // the restarted worker carried the schedule on
    expect(emails).toBe(1);
    expect(output.join('')).not.toContain(liAt);
    expect(events.lost).toBe(0);
  });

  test('killed during a Unipile call: the call is tried again by the new worker, one attempt recorded', async () => {
    const { accountId } = await stack.linkedinAccount('mid-call', 'member-mid-call', 'AQEDAmid-call-cookie-1');
    stack.script('reconnect', [{ result: 'fail', delayMs: 4000 }, { result: 'succeed' }], accountId);
    const ledger = new EventLedger(stack, [accountId]);
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await waitFor(() => stack.reconnectCalls(accountId).length === 1, 30_000, 'the call in flight');
    await killWorker();

    await stack.waitForEvent(accountId, 'incident_closed');
    const attempts = (await stack.events(accountId)).filter((e) => e.type === 'attempt');
    const calls = stack.reconnectCalls(accountId).length;
    const emails = stack.smtp.messages.filter((m) => m.to.includes('mid-call@example.test')).length;
    const events = await ledger.count();
    recordReliability({
      injected: 'worker process SIGKILLed while its reconnect call to Unipile was in flight',
      times: 1,
      expected: 'the call is retried after its timeout by the new worker; one attempt (succeeded); no email',
      observed: `${calls} calls; attempts ${attempts.map((a) => a.data.outcome).join(', ')}; ${emails} email(s)`,
      eventsLost: events.lost,
      // No email is due, so none can be lost; one sent would be a copy too many.
      emailsLost: null,
      duplicateEmails: emails,
    });
    expect(attempts.map((a) => a.data.outcome)).toEqual(['succeeded']);
    expect(calls).toBe(2);
    expect(emails).toBe(0);
    expect(events.lost).toBe(0);
  });

  test('killed during an email send: the email arrives once, with its Message-ID', async () => {
    const accountId = await stack.connectedAccount({ userId: 'mid-mail', provider: 'GOOGLE' });
    const ledger = new EventLedger(stack, [accountId]);
    await ledger.mark();
    stack.smtp.hold = true;
    const heldBefore = stack.smtp.held;
    const posted = await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH');
    await waitFor(() => stack.smtp.held > heldBefore, 30_000, 'the send in flight');
    await killWorker();
    stack.smtp.hold = false;

    // Only the email that was in flight: the stack's reminders (3 s, 6 s) follow it and are other emails.
    const mails = () =>
      stack.smtp.messages.filter(
        (m) => m.to.includes('mid-mail@example.test') && m.messageId.includes('.reconnect_needed.'),
      );
    await waitFor(() => mails().length > 0, 60_000, 'the email').catch(() => undefined);
    // Longer than EMAIL_SEND_TIMEOUT × 1.5 (6 s from the claim): a second copy would have been sent by now.
    await new Promise((r) => setTimeout(r, 7000));
    // Journalled once, as sent (reminders, due 3 s after it, may already stand beside it: other emails).
    const inFlight = (a: any) =>
      ((a.workflow?.incident?.emails ?? []) as { kind: string }[]).filter((e) => e.kind === 'reconnect_needed');
    const journal = await stack.accountWhen(accountId, (a) => inFlight(a).length > 0, 30_000).catch(() => undefined);
    const delivered = mails();
    const events = await ledger.count([{ message: 'CREDENTIALS', accepted: posted.status === 200 ? 1 : 0 }]);
    recordReliability({
      injected: 'worker process SIGKILLed while SMTP held its email (sent, not yet answered)',
      times: 1,
      expected: 'the send is claimed again once stale and delivered once, same Message-ID',
      observed: `${delivered.length} email(s), Message-ID ${delivered[0]?.messageId ?? 'none'}; journalled ${
        journal ? inFlight(journal).length : 0
      }`,
      eventsLost: events.lost,
      emailsLost: Math.max(0, 1 - delivered.length),
      duplicateEmails: Math.max(0, delivered.length - 1),
    });
    expect(posted.status).toBe(200);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.messageId).toMatch(new RegExp(`^<${accountId}\\.1\\.reconnect_needed\\.0@`));
    expect(inFlight(journal)).toEqual([expect.objectContaining({ outcome: 'sent' })]);
    expect(events.lost).toBe(0);
  });

  test("the worker's Prometheus endpoint has the Temporal SDK's metrics and the emails it sent", async () => {
    // An email of its own, so this case does not depend on the ones before it.
    const accountId = await stack.connectedAccount({ userId: 'metered-mail', provider: 'GOOGLE' });
    expect((await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH')).status).toBe(200);
    const url = `http://127.0.0.1:${stack.env.WORKER_METRICS_PORT}/metrics`;
    let text = '';
    await waitFor(
      async () => {
        text = await (await fetch(url)).text().catch(() => '');
        return /unipile_emails\S*\{[^}]*outcome="sent"[^}]*\} [1-9]/.test(text);
      },
      30_000,
      'the email counted',
    );
    expect(text).toMatch(/^temporal_\w+/m); // the SDK's own (workflow tasks, activities, polls…)
    expect(text).toMatch(/unipile_emails\S*\{[^}]*kind="reconnect_needed"/);
  });
});
