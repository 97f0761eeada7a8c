import type { Server } from 'node:http';
import { landingPageUrl } from '../../src/accounts/links';
import { AccountRecoveryKey } from '../../src/workflows/account/contract';
import { maybeRecordAllRuns, maybeRecordHistory } from '../helpers/histories';
import { serve } from '../helpers/http-peer';
import { cookieBody, Stack, sleep, waitFor } from '../helpers/stack';

// Restricted, mismatched and paused accounts, read as a client reads them: the API, the pushed events, the emails
// at the SMTP peer, Unipile's calls at the simulator and the Temporal UI's search attributes.
// Policy (Stack): RECONNECT_RETRY_INTERVAL=2s, RECONNECT_MAX_RETRIES=2, REMINDER_SCHEDULE=3s,6s; here EMAIL_SETTLE=1s.
describe('restricted, mismatched and paused accounts', () => {
  const pushed: { type: string; data: { accountId: string; to?: string; from?: string } }[] = [];
  let receiver: Server;
  let stack: Stack;
  beforeAll(async () => {
    const peer = await serve((_req, body, res) => {
      pushed.push(JSON.parse(body));
      res.writeHead(204).end();
    });
    receiver = peer.server;
    stack = await new Stack({
      env: {
        EMAIL_SETTLE: '1s',
        BACKEND_WEBHOOK_URL: `${peer.url}/events`,
        BACKEND_WEBHOOK_SECRET: 'backend-secret-0123456789',
      },
    }).start();
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise((r) => receiver.close(r));
  });

  const mailsTo = (email: string) => stack.smtp.messages.filter((m) => m.to.includes(email));
  const recoveryChanges = (accountId: string) =>
    pushed.filter((e) => e.type === 'account.recovery_changed' && e.data.accountId === accountId).map((e) => e.data.to);
  /** The state the user's landing page shows for the account, in plain words. */
  async function pageState(userId: string, accountId: string): Promise<string | undefined> {
    const html = await (await fetch(landingPageUrl(stack.config, userId))).text();
    const item = new RegExp(`data-account-id="${accountId}"[^>]*>.*?<span class="state[^"]*">([^<]*)<`).exec(html);
    return item?.[1];
  }
  async function inTemporalUi(accountId: string, recovery: string): Promise<boolean> {
    const query = `${AccountRecoveryKey.name} = "${recovery}" AND TaskQueue = "${stack.config.TEMPORAL_TASK_QUEUE}"`;
    for await (const wf of stack.client.workflow.list({ query }))
      if (wf.workflowId === `account-${accountId}`) return true;
    return false;
  }

  test('a restricted answer stops silent attempts and sends one restricted email; a healthy webhook closes it', async () => {
    // Positive control in the same wait: an account that is not restricted is restarted on the schedule.
    const control = await stack.connectedAccount({ userId: 'ctl', email: 'ctl@example.test', provider: 'WHATSAPP' });
    const accountId = await stack.connectedAccount({ userId: 'rst', email: 'rst@example.test', provider: 'WHATSAPP' });
    stack.sim.restricted.add(accountId);
    stack.script('restart', [{ result: 'fail' }, { result: 'fail' }, { result: 'fail' }], control);
    stack.sim.emitStatus(accountId, 'ERROR');
    stack.sim.emitStatus(control, 'ERROR');

    await waitFor(() => mailsTo('rst@example.test').length === 1, 30_000, 'the restricted email');
    const view = await stack.accountWhen(
      accountId,
      (a) => a.recovery === 'RESTRICTED' && a.workflow?.incident?.emails?.length === 1,
    );
    expect(view.workflow.incident.emails).toEqual([expect.objectContaining({ kind: 'restricted', outcome: 'sent' })]);
    // Longer than two retry intervals (2 s each) plus a reminder offset (3 s): the control is retried meanwhile.
    await sleep(8000);
    const restarts = stack.restartCalls(accountId).length;
    const controlRestarts = stack.restartCalls(control).length;
    expect({ restarts, controlRestarts }).toEqual({ restarts: 1, controlRestarts: 3 });
    expect(mailsTo('rst@example.test')).toHaveLength(1); // no reminder for a restriction
    const [mail] = mailsTo('rst@example.test');
    expect(mail!.text.toLowerCase()).toContain('restrict');
    await waitFor(() => recoveryChanges(accountId).includes('RESTRICTED'), 15_000, 'account.recovery_changed pushed');
    await waitFor(() => inTemporalUi(accountId, 'RESTRICTED'), 15_000, 'AccountRecovery=RESTRICTED');
    expect(await pageState('rst', accountId)).toMatch(/^Restricted by the provider/);

    stack.sim.restricted.delete(accountId);
    stack.sim.emitStatus(accountId, 'OK');
    await stack.accountWhen(accountId, (a) => a.recovery === 'NONE' && a.status === 'OK');
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'restricted-then-healthy');
  });

  test("another member's cookie is not tried twice; the email names the account that needs the user's login", async () => {
    const { accountId, token } = await stack.linkedinAccount('mis', 'member-mis', 'li_at-mis-1');
    await stack.db('accounts').where({ account_id: accountId }).update({ name: 'Mia Sales' });
    stack.sim.mismatched.set(accountId, { type: 'account_mismatch', times: null });
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await waitFor(() => mailsTo('mis@example.test').length === 1, 30_000, 'the mismatch email');
    expect(stack.reconnectCalls(accountId)).toHaveLength(1);
    const [mail] = mailsTo('mis@example.test');
    expect(mail!.text).toContain('Mia Sales');
    const events = (await stack.events(accountId)).map((e) => e.type);
    expect(events).toContain('cookie_mismatch');
    await stack.accountWhen(accountId, (a) => a.workflow?.incident?.mismatch === true);
    expect(await pageState('mis', accountId)).toMatch(/^Signed in as another member/);

    // The extension sends the same cookie again, and retries come due: still one reconnect with it.
    const again = await stack.postCookies(token, cookieBody('li_at-mis-1', 'member-mis'));
    expect(again.status).toBeLessThan(300);
    await sleep(6000); // three retry intervals
    expect(stack.reconnectCalls(accountId)).toHaveLength(1);
    // "Reconnect now" does not send it either: it restarts instead.
    const now = await stack.api$('POST', `/api/accounts/${accountId}/reconnect`);
    expect(now.json.attempt).toMatchObject({ action: 'restart' });
    expect(stack.reconnectCalls(accountId)).toHaveLength(1);
    await maybeRecordAllRuns(
      stack.client,
      stack.config.TEMPORAL_ADDRESS,
      `account-${accountId}`,
      'linkedin-cookie-mismatch',
    );
  });

  test('a paused account gets no attempt and no email until its end, then is judged at once', async () => {
    const control = await stack.connectedAccount({ userId: 'pctl', email: 'pctl@example.test', provider: 'OUTLOOK' });
    const accountId = await stack.connectedAccount({ userId: 'psd', email: 'psd@example.test', provider: 'OUTLOOK' });
    const until = new Date(Date.now() + 8000).toISOString();
    const paused = await stack.api$('POST', `/api/accounts/${accountId}/pause`, { until, reason: 'plan change' });
    expect(paused.status).toBe(200);
    expect(paused.json.workflow).toMatchObject({ recovery: 'PAUSED', paused: { until, reason: 'plan change' } });
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    stack.sim.emitStatus(control, 'CREDENTIALS');
    // Events are still recorded; the state is current.
    const during = await stack.accountWhen(accountId, (a) => a.status === 'CREDENTIALS');
    expect(during.recovery).toBe('PAUSED');
    await waitFor(() => mailsTo('pctl@example.test').length === 1, 15_000, 'the control email');
    await waitFor(() => inTemporalUi(accountId, 'PAUSED'), 15_000, 'AccountRecovery=PAUSED');
    expect(mailsTo('psd@example.test')).toHaveLength(0);
    expect(await pageState('psd', accountId)).toBe('Paused');

    await waitFor(() => mailsTo('psd@example.test').length === 1, 30_000, 'the email after the pause');
    const sentAt = mailsTo('psd@example.test')[0]!.receivedAt;
    expect(sentAt).toBeGreaterThanOrEqual(Date.parse(until));
    await stack.accountWhen(accountId, (a) => a.recovery === 'WAITING_FOR_USER' && a.workflow?.paused === null);
    await waitFor(() => recoveryChanges(accountId).includes('WAITING_FOR_USER'), 15_000, 'recovery pushed');
    expect(recoveryChanges(accountId)).toEqual(expect.arrayContaining(['PAUSED', 'WAITING_FOR_USER']));
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'paused-until');
  });

  test('a pause with no end waits for a resume; resume runs the due attempt at once', async () => {
    const accountId = await stack.connectedAccount({
      userId: 'pres',
      email: 'pres@example.test',
      provider: 'WHATSAPP',
    });
    stack.script(
      'restart',
      [{ result: 'fail' }, { result: 'fail' }, { result: 'fail' }, { result: 'fail' }],
      accountId,
    );
    const paused = await stack.api$('POST', `/api/accounts/${accountId}/pause`, { reason: 'customer asked' });
    expect(paused.json.workflow.paused).toMatchObject({ until: null, reason: 'customer asked' });
    stack.sim.emitStatus(accountId, 'ERROR');
    await stack.accountWhen(accountId, (a) => a.status === 'ERROR');
    await sleep(5000); // longer than two retry intervals: nothing while paused
    expect(stack.restartCalls(accountId)).toHaveLength(0);
    expect(mailsTo('pres@example.test')).toHaveLength(0);

    const resumed = await stack.api$('POST', `/api/accounts/${accountId}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.json.workflow.paused).toBeNull();
    await waitFor(() => stack.restartCalls(accountId).length === 1, 10_000, 'the attempt after resume');
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'paused-then-resumed');
  });

  test('bad pause requests get a clear 4xx', async () => {
    const accountId = await stack.connectedAccount({ userId: 'pbad', provider: 'WHATSAPP' });
    const url = `/api/accounts/${accountId}/pause`;
    expect((await stack.api$('POST', url, {})).status).toBe(400); // no reason
    expect((await stack.api$('POST', url, { reason: 'x', until: 'tomorrow' })).status).toBe(400);
    const past = await stack.api$('POST', url, { reason: 'x', until: new Date(Date.now() - 1000).toISOString() });
    expect(past.status).toBe(400);
    expect((await stack.api$('POST', '/api/accounts/nope_nope/pause', { reason: 'x' })).status).toBe(404);
  });
});
