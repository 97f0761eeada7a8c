import { historyText, maybeRecordAllRuns, maybeRecordHistory } from '../helpers/histories';
import { cookieBody, sleep, Stack, waitFor } from '../helpers/stack';

// Policy from configuration: RECONNECT_RETRY_INTERVAL=2s, RECONNECT_MAX_RETRIES=2 → 3 scheduled attempts.
describe('LinkedIn silent reconnect from extension cookies', () => {
  const stack = new Stack({ env: { CHECKPOINT_TIMEOUT: '3s', CONNECT_RETRY_INTERVAL: '6s' } });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const mailsTo = (email: string) => stack.smtp.messages.filter((m) => m.to.includes(email));
  const attempts = async (accountId: string) => (await stack.events(accountId)).filter((e) => e.type === 'attempt');

  test('first cookie sync → custom-auth connect → account row, workflow running, status OK', async () => {
    await stack.api$('PUT', '/api/users/lin-1', { email: 'lin1@example.test' });
    const token = await stack.extensionToken('lin-1');
    const first = await stack.postCookies(token, cookieBody('AQEDAfirst-cookie-1', 'member-1'));
    expect(first.status).toBe(202);
    expect(first.json).toMatchObject({ accountId: null, status: 'CONNECTING', recovery: 'NONE' });

    await waitFor(async () => !!(await stack.session('lin-1', 'member-1'))?.account_id, 30_000, 'connected');
    const accountId = (await stack.session('lin-1', 'member-1')).account_id;
    const call = stack.connectCalls().pop()!;
    expect(call.body).toEqual({
      provider: 'LINKEDIN',
      access_token: 'AQEDAfirst-cookie-1',
      premium_token: 'premium-AQEDAfirst-cookie-1',
      user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Test/1.0',
      country: 'FR',
      ip: '203.0.113.7',
    });
    await waitFor(async () => (await stack.accountRow(accountId))?.status === 'OK', 30_000, 'OK');
    expect(await stack.accountRow(accountId)).toMatchObject({ user_id: 'lin-1', account_type: 'LINKEDIN' });
    const description = await stack.client.workflow.getHandle(`account-${accountId}`).describe();
    expect(description.status.name).toBe('RUNNING');

    const again = await stack.postCookies(token, cookieBody('AQEDAfirst-cookie-1', 'member-1'));
    expect(again.json).toEqual({ accountId, status: 'OK', recovery: 'NONE' });
    expect(stack.connectCalls()).toHaveLength(1);

    // The extension re-sends the same cookie: no new event for the workflow, however often; a new one is one event.
    const cookieEvents = async () =>
      (await stack.api$('GET', '/api/receipts?state=forwarded&limit=500')).json.items.filter(
        (r: { source: string; accountId: string }) => r.source === 'extension_cookie' && r.accountId === accountId,
      ).length;
    await waitFor(async () => (await cookieEvents()) === 1, 10_000, 'the connection’s cookie event');
    for (let i = 0; i < 20; i++) await stack.postCookies(token, cookieBody('AQEDAfirst-cookie-1', 'member-1'));
    await stack.postCookies(token, cookieBody('AQEDAsecond-cookie-2', 'member-1'));
    await waitFor(async () => (await cookieEvents()) === 2, 10_000, 'one event for the new cookie');
    expect((await stack.api$('GET', '/api/receipts?state=pending')).json.items).toEqual([]);
    expect(await cookieEvents()).toBe(2);
  });

  test('checkpoint → wrong code is reported → right code connects', async () => {
    stack.script('connect', [{ result: 'checkpoint', checkpointType: 'OTP', code: 'OTP-424242' }]);
    const token = await stack.extensionToken('lin-ckpt');
    await stack.postCookies(token, cookieBody('AQEDAcheckpoint-cookie', 'member-ckpt'));
    // What a client can know: the connections list, then the cookie-sync answer, both carry the checkpoint.
    let listed: any;
    await waitFor(
      async () => {
        listed = (await stack.api$('GET', '/api/users/lin-ckpt/connections')).json.items[0];
        return listed?.checkpoint !== null && listed?.checkpoint !== undefined;
      },
      30_000,
      'checkpoint listed',
    );
    expect(listed).toMatchObject({ provider: 'LINKEDIN', memberId: 'member-ckpt', step: 'CHECKPOINT' });
    const pending: string = listed.checkpoint.accountId;
    expect(listed.checkpoint.type).toBe('OTP');
    const expiresIn = Date.parse(listed.checkpoint.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(0);
    expect(expiresIn).toBeLessThanOrEqual(3000); // CHECKPOINT_TIMEOUT
    const status = await stack.postCookies(token, cookieBody('AQEDAcheckpoint-cookie', 'member-ckpt'));
    expect(status.json).toMatchObject({
      accountId: null,
      recovery: 'CHECKPOINT',
      checkpoint: { accountId: pending, type: 'OTP' },
    });

    // Another user's extension cannot answer it; the owner's extension can (and the backend can).
    const stranger = await stack.extensionToken('lin-stranger');
    const foreign = await stack.api$(
      'POST',
      `/api/accounts/${pending}/checkpoint`,
      { code: 'OTP-424242' },
      { authorization: `Bearer ${stranger}` },
    );
    expect(foreign.status).toBe(403);
    const wrong = await stack.api$(
      'POST',
      `/api/accounts/${pending}/checkpoint`,
      { code: '000000' },
      { authorization: `Bearer ${token}` },
    );
    expect(wrong.status).toBe(422);
    expect(wrong.json.error.code).toBe('invalid_checkpoint_solution');
    const right = await stack.api$('POST', `/api/accounts/${pending}/checkpoint`, { code: 'OTP-424242' });
    expect(right.status).toBe(200);
    expect(right.json).toEqual({ outcome: 'connected', accountId: pending });
    await waitFor(async () => (await stack.accountRow(pending))?.status === 'OK', 30_000, 'OK');
    // Unipile's CREATION_SUCCESS webhook may mark the account OK before the connection has tied the session to it.
    await waitFor(async () => !!(await stack.session('lin-ckpt', 'member-ckpt')).account_id, 10_000, 'session tied');
    expect((await stack.session('lin-ckpt', 'member-ckpt')).account_id).toBe(pending);
    // The codes went through the connection's row, encrypted, never through Temporal.
    const runs: { workflowId: string; runId: string }[] = [];
    const query = `WorkflowType="connectionWorkflow" AND TaskQueue="${stack.config.TEMPORAL_TASK_QUEUE}"`;
    for await (const wf of stack.client.workflow.list({ query })) runs.push(wf);
    expect(runs.length).toBeGreaterThan(0);
    const histories = runs.map((r) => historyText(stack.config.TEMPORAL_ADDRESS, r.workflowId, r.runId)).join('\n');
    expect(histories).toContain('"checkpoint":"OTP"'); // decoded: the step is readable
    expect(histories).not.toContain('OTP-424242');
    expect(histories).not.toContain('000000');
  });

  test('a cookie connection shows OK at once, named as Unipile names it, before the CREATION_SUCCESS webhook', async () => {
    stack.sim.holdWebhooks(true);
    try {
      const token = await stack.extensionToken('lin-at-once');
      await stack.postCookies(token, cookieBody('AQEDAat-once-cookie', 'member-at-once'));
      await waitFor(async () => !!(await stack.session('lin-at-once', 'member-at-once'))?.account_id, 30_000, 'tied');
      const accountId: string = (await stack.session('lin-at-once', 'member-at-once')).account_id;
      const account = await stack.accountWhen(accountId, (a) => a.status === 'OK', 5000);
      expect(account).toMatchObject({ status: 'OK', name: 'LinkedIn user', provider: 'LINKEDIN' });
      // Held: Unipile's webhook has not reached us.
      expect(stack.sim.deliveries.filter((d) => JSON.stringify(d.body).includes(accountId))).toHaveLength(0);
      const changes = (await stack.events(accountId)).filter((e) => e.type === 'status_changed').map((e) => e.data);
      expect(changes).toEqual([{ from: 'PENDING', to: 'OK', message: 'CREATION_SUCCESS' }]);
    } finally {
      stack.sim.holdWebhooks(false);
    }
  });

  test('a checkpoint code answered while the provider restricts the account → failed: account_restricted', async () => {
    stack.script('connect', [{ result: 'checkpoint', checkpointType: 'OTP', code: 'OTP-777777' }]);
    const token = await stack.extensionToken('lin-restricted');
    await stack.postCookies(token, cookieBody('AQEDArestricted-cookie', 'member-restricted'));
    let pending = '';
    await waitFor(
      async () => {
        pending = (await stack.api$('GET', '/api/users/lin-restricted/connections')).json.items[0]?.checkpoint
          ?.accountId;
        return !!pending;
      },
      30_000,
      'checkpoint listed',
    );
    await fetch(`${stack.sim.url}/_sim/accounts/${pending}/restricted`, { method: 'POST' });
    // Listed a moment before its connection waits for the code (409 no_checkpoint meanwhile): asked again until then.
    let res = { status: 0, json: {} as any, text: '' };
    await waitFor(
      async () => {
        res = await stack.api$(
          'POST',
          `/api/accounts/${pending}/checkpoint`,
          { code: 'OTP-777777' },
          { authorization: `Bearer ${token}` },
        );
        return res.status !== 409;
      },
      15_000,
      'the checkpoint waiting for its code',
    );
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe('checkpoint_failed');
    expect(res.json.error.message).toMatch(
      /account_restricted\. The provider restricted this account\. Verify your identity/,
    );
    // The connections list and the cookie-sync answer say so too; nothing is linked.
    expect((await stack.api$('GET', '/api/users/lin-restricted/connections')).json.items[0]).toMatchObject({
      step: 'FAILED',
      lastError: 'account_restricted',
      checkpoint: null,
    });
    expect((await stack.session('lin-restricted', 'member-restricted')).account_id).toBeNull();
  });

  test('no code → timeout clears the attempt; the next one waits for CONNECT_RETRY_INTERVAL', async () => {
    stack.script('connect', [{ result: 'checkpoint', checkpointType: '2FA' }]);
    const token = await stack.extensionToken('lin-slow');
    const before = stack.connectCalls().length;
    await stack.postCookies(token, cookieBody('AQEDAslow-cookie-0001', 'member-slow'));
    const firstTry = Date.now();
    const connection = async () => (await stack.api$('GET', '/api/users/lin-slow/connections')).json.items[0];
    await waitFor(async () => (await connection())?.step === 'CHECKPOINT_TIMEOUT', 30_000, 'timeout');
    expect(await connection()).toMatchObject({ recovery: 'NONE', checkpoint: null, lastError: 'checkpoint_timeout' });

    await stack.postCookies(token, cookieBody('AQEDAslow-cookie-0001', 'member-slow'));
    // Too early (CONNECT_RETRY_INTERVAL is 6 s from the first try): watched until just before it may retry.
    await sleep(Math.max(0, firstTry + 5500 - Date.now()));
    expect(stack.connectCalls().length).toBe(before + 1); // too early: not retried
    await sleep(Math.max(0, firstTry + 6500 - Date.now()));
    await stack.postCookies(token, cookieBody('AQEDAslow-cookie-0001', 'member-slow'));
    await waitFor(() => stack.connectCalls().length === before + 2, 10_000, 'second connection');
  });

  test('CREDENTIALS with every reconnect failing → 1 + RECONNECT_MAX_RETRIES attempts on the interval, then one email without the hint', async () => {
    const { accountId } = await stack.linkedinAccount('lin-fail', 'member-fail', 'AQEDAfail-cookie-0001');
    stack.script('reconnect', [{ result: 'fail' }, { result: 'fail' }, { result: 'fail' }], accountId);
    stack.sim.emitStatus(accountId, 'CREDENTIALS');

    await waitFor(() => mailsTo('lin-fail@example.test').length === 1, 30_000, 'email');
    const calls = stack.reconnectCalls(accountId);
    expect(calls).toHaveLength(3);
    for (let i = 1; i < calls.length; i++) {
      // The 2 s interval: never sooner, and not much later.
      const gap = Date.parse(calls[i]!.at) - Date.parse(calls[i - 1]!.at);
      expect(gap).toBeGreaterThanOrEqual(1900);
      expect(gap).toBeLessThanOrEqual(7000); // the interval, plus what 2 shared cores may add
    }
    expect(calls.every((c) => (c.body as any).access_token === 'AQEDAfail-cookie-0001')).toBe(true);
    expect(mailsTo('lin-fail@example.test')[0]!.text).not.toContain('extension');

    const detail = await stack.api$('GET', `/api/accounts/${accountId}`);
    expect(detail.json.workflow.incident.attempts.map((a: any) => [a.n, a.outcome, a.errorType])).toEqual([
      [1, 'failed', 'errors/invalid_credentials'],
      [2, 'failed', 'errors/invalid_credentials'],
      [3, 'failed', 'errors/invalid_credentials'],
    ]);
    await waitFor(async () => (await stack.accountRow(accountId))?.recovery === 'WAITING_FOR_USER', 10_000, 'row');
    await sleep(2500);
    expect(stack.reconnectCalls(accountId)).toHaveLength(3);
    expect(mailsTo('lin-fail@example.test')).toHaveLength(1);
    stack.sim.emitStatus(accountId, 'OK');
    await stack.waitForEvent(accountId, 'incident_closed');
    await maybeRecordAllRuns(
      stack.client,
      stack.config.TEMPORAL_ADDRESS,
      `account-${accountId}`,
      'linkedin-reconnect-escalation',
    );
  });

  test('the same with a stale cookie → the email asks to check the extension', async () => {
    const { accountId } = await stack.linkedinAccount('lin-stale', 'member-stale', 'AQEDAstale-cookie-001');
    await stack
      .db('linkedin_sessions')
      .where({ account_id: accountId })
      .update({ date_last_cookie: stack.db.raw("now() - interval '2 days'") });
    stack.script('reconnect', [{ result: 'fail' }, { result: 'fail' }, { result: 'fail' }], accountId);
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await waitFor(() => mailsTo('lin-stale@example.test').length === 1, 30_000, 'email');
    expect(mailsTo('lin-stale@example.test')[0]!.text).toContain('browser extension');
  });

  test('the third attempt succeeds → no email, incident closed, three attempts recorded', async () => {
    const { accountId } = await stack.linkedinAccount('lin-third', 'member-third', 'AQEDAthird-cookie-001');
    stack.script(
      'reconnect',
      [{ result: 'fail' }, { result: 'http_error', status: 401, type: 'expired_credentials' }, { result: 'succeed' }],
      accountId,
    );
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await stack.waitForEvent(accountId, 'incident_closed');
    expect((await attempts(accountId)).map((a) => a.data.outcome)).toEqual(['failed', 'failed', 'succeeded']);
    expect(await stack.accountRow(accountId)).toMatchObject({ status: 'OK', recovery: 'NONE' });
    // The incident is journalled in order: an email it sent or decided on would stand before incident_closed.
    expect((await stack.events(accountId)).filter((e) => e.type === 'email')).toEqual([]);
    expect(mailsTo('lin-third@example.test')).toHaveLength(0);
  });

  test('OK webhook while waiting → no further attempt', async () => {
    const { accountId } = await stack.linkedinAccount('lin-ok', 'member-ok', 'AQEDAok-cookie-00001');
    stack.script('reconnect', [{ result: 'fail' }, { result: 'fail' }, { result: 'fail' }], accountId);
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await waitFor(() => stack.reconnectCalls(accountId).length === 1, 30_000, 'first attempt');
    await stack.postWebhook(accountId, 'OK');
    await stack.waitForEvent(accountId, 'incident_closed');
    await sleep(3000);
    expect(stack.reconnectCalls(accountId)).toHaveLength(1);
    expect(mailsTo('lin-ok@example.test')).toHaveLength(0);
  });

  test('a new cookie while waiting → an immediate attempt with the new li_at', async () => {
    const { accountId, token } = await stack.linkedinAccount('lin-new', 'member-new', 'AQEDAold-cookie-00001');
    stack.script('reconnect', [{ result: 'fail' }, { result: 'succeed' }], accountId);
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await waitFor(() => stack.reconnectCalls(accountId).length === 1, 30_000, 'first attempt');
    const failedAt = Date.now();
    const res = await stack.postCookies(token, cookieBody('AQEDAnew-cookie-00002', 'member-new'));
    expect(res.json).toMatchObject({ accountId, status: 'CREDENTIALS', recovery: 'RETRYING' });
    await waitFor(() => stack.reconnectCalls(accountId).length === 2, 30_000, 'extra attempt');
    expect(Date.now() - failedAt).toBeLessThan(1900); // before the 2s interval
    expect((stack.reconnectCalls(accountId)[1]!.body as any).access_token).toBe('AQEDAnew-cookie-00002');
    await stack.waitForEvent(accountId, 'incident_closed');
    expect((await attempts(accountId)).map((a) => a.data.trigger)).toEqual(['schedule', 'new_cookie']);
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'linkedin-new-cookie-attempt');
  });

  test('reconnect now runs one attempt through an update and returns its outcome', async () => {
    const { accountId } = await stack.linkedinAccount('lin-now', 'member-now', 'AQEDAnow-cookie-00001');
    stack.script('reconnect', [{ result: 'fail' }], accountId);
    const res = await stack.api$('POST', `/api/accounts/${accountId}/reconnect`);
    expect(res.status).toBe(200);
    expect(res.json.attempt).toMatchObject({
      action: 'reconnect',
      trigger: 'manual',
      outcome: 'failed',
      errorType: 'errors/invalid_credentials',
    });
    const ok = await stack.api$('POST', `/api/accounts/${accountId}/reconnect`);
    expect(ok.json.attempt).toMatchObject({ outcome: 'succeeded' });
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `account-${accountId}`, 'reconnect-now-update');
  });

  test('a new member id from the same user is a new account; the other is untouched', async () => {
    const { accountId: a, token } = await stack.linkedinAccount('lin-switch', 'member-a', 'AQEDAswitch-cookie-a1');
    const before = await stack.session('lin-switch', 'member-a');
    await stack.postCookies(token, cookieBody('AQEDAswitch-cookie-b1', 'member-b'));
    await waitFor(async () => !!(await stack.session('lin-switch', 'member-b'))?.account_id, 30_000, 'second account');
    const b = (await stack.session('lin-switch', 'member-b')).account_id;
    expect(b).not.toBe(a);
    const after = await stack.session('lin-switch', 'member-a');
    expect(after.li_at).toBe(before.li_at);
    expect(after.account_id).toBe(a);
    expect((await stack.client.workflow.getHandle(`account-${a}`).describe()).status.name).toBe('RUNNING');
    expect((await stack.api$('GET', '/api/users/lin-switch/accounts')).json.items).toHaveLength(2);
  });

  test('no ip from the extension: the public client address named by a trusted proxy is sent to Unipile', async () => {
    // TRUST_PROXY defaults to loopback: this test's requests come from 127.0.0.1, as a local reverse proxy's would.
    await stack.api$('PUT', '/api/users/lin-ip', { email: 'lin-ip@example.test' });
    const token = await stack.extensionToken('lin-ip');
    const post = (memberId: string, forwardedFor: string) =>
      stack.api$(
        'POST',
        '/api/extension/linkedin-cookies',
        cookieBody(`AQEDAip-cookie-${memberId}`, memberId, { ip: undefined, country: undefined }),
        { authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor },
      );
    const connectOf = (liAt: string) =>
      stack.connectCalls().find((c) => (c.body as { access_token: string }).access_token === liAt)?.body as
        Record<string, unknown> | undefined;
    expect((await post('member-ip-public', '81.2.69.160')).status).toBe(202);
    expect((await post('member-ip-private', '192.168.1.20')).status).toBe(202);
    await waitFor(
      () => !!connectOf('AQEDAip-cookie-member-ip-public') && !!connectOf('AQEDAip-cookie-member-ip-private'),
      30_000,
      'both connects',
    );
    expect(connectOf('AQEDAip-cookie-member-ip-public')).toMatchObject({ ip: '81.2.69.160' });
    // A private address says nothing about the user's country: nothing is sent rather than a useless address.
    expect(connectOf('AQEDAip-cookie-member-ip-private')).not.toHaveProperty('ip');
  });

  test('extension tokens: missing, invalid, revoked → 401; another user → 403; malformed → 400, nothing stored', async () => {
    const token = await stack.extensionToken('lin-auth');
    const body = cookieBody('AQEDAauth-cookie-0001', 'member-auth');
    expect((await stack.postCookies(null, body)).status).toBe(401);
    expect((await stack.postCookies('ext_forged', body)).status).toBe(401);
    expect((await stack.postCookies(token, { ...body, userId: 'someone-else' })).status).toBe(403);
    const bad = await stack.postCookies(token, { ...body, user_agent: undefined, country: 'France' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('user_agent');
    expect(bad.json.error.message).toContain('country');
    expect(await stack.session('lin-auth', 'member-auth')).toBeUndefined();

    const issued = await stack.api$('POST', '/api/users/lin-auth/extension-token');
    expect((await stack.api$('DELETE', `/api/users/lin-auth/extension-tokens/${issued.json.tokenId}`)).status).toBe(
      204,
    );
    expect((await stack.postCookies(issued.json.token, body)).status).toBe(401);
    expect(
      (await stack.api$('POST', '/api/users/lin-auth/extension-token', undefined, { authorization: 'Bearer x' }))
        .status,
    ).toBe(401);
  });
});
