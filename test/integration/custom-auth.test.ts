import { connectionWorkflowId } from '../../src/workflows/connection/contract';
import { unipileTaskQueue } from '../../src/workflows/task-queues';
import { historyText, maybeRecordHistory } from '../helpers/histories';
import { Stack, waitFor } from '../helpers/stack';

// Custom authentication for every provider, through the backend API as a product's own connect form
// would use it, against the simulator over HTTP. Each step waits CHECKPOINT_TIMEOUT (4 s here); QR codes and in-app
// validations are checked every CONNECTION_POLL_INTERVAL (300 ms here).
describe('custom authentication: every provider, every step', () => {
  const stack = new Stack({ env: { CHECKPOINT_TIMEOUT: '4s', CONNECTION_POLL_INTERVAL: '300ms' } });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const connectionIds: string[] = [];
  /**
   * Every secret a test typed or Unipile sent: none may be left anywhere once the connections are done. Codes are
   * words, not bare digits, so that a timestamp or a task id in a history can never look like one.
   */
  const secrets: string[] = [];
  const connect = async (userId: string, body: Record<string, unknown>) => {
    const res = await stack.api$('POST', `/api/users/${userId}/accounts`, body);
    if (res.json?.connectionId) connectionIds.push(res.json.connectionId);
    return res;
  };
  const answer = (connectionId: string, body: Record<string, unknown>) =>
    stack.api$('POST', `/api/connections/${connectionId}/steps`, body);
  const read = async (connectionId: string) => (await stack.api$('GET', `/api/connections/${connectionId}`)).json;
  const ownedBy = async (userId: string, accountId: string) => {
    const items = (await stack.api$('GET', `/api/users/${userId}/accounts`)).json.items as { accountId: string }[];
    return items.some((a) => a.accountId === accountId);
  };
  const record = (connectionId: string, name: string) =>
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, connectionWorkflowId(connectionId), name);
  /** Unipile's pending intent for the last connection (the simulator's side: the person scans or approves there). */
  const lastIntent = () => [...stack.sim.intents.values()].at(-1)!;

  test.each([
    ['LINKEDIN', 'LINKEDIN'],
    ['INSTAGRAM', 'INSTAGRAM'],
    ['MESSENGER', 'MESSENGER'],
    ['TWITTER', 'TWITTER'],
  ])('%s with username and password → connected, the account owned by the user', async (provider, type) => {
    const password = `pw-${provider}-s3cret!`;
    secrets.push(password);
    const res = await connect(`ca-${provider}`, {
      provider,
      username: `${provider.toLowerCase()}@example.test`,
      password,
    });
    expect(res.status).toBe(202);
    expect(res.json.step).toMatchObject({ type: 'connected' });
    const { accountId } = res.json.step;
    expect(await ownedBy(`ca-${provider}`, accountId)).toBe(true);
    const account = await stack.accountWhen(accountId, (a) => a.status === 'OK');
    expect(account.provider).toBe(type);
    const call = stack.connectCalls().at(-1)!.body as Record<string, unknown>;
    expect(call).toEqual({ provider, username: `${provider.toLowerCase()}@example.test`, password });
    expect((await stack.client.workflow.getHandle(`account-${accountId}`).describe()).status.name).toBe('RUNNING');
  });

  test('the new account is read from Unipile on the rate-capped Unipile queue and named as Unipile names it', async () => {
    secrets.push('tw-pw-read-7');
    const res = await connect('ca-read', {
      provider: 'TWITTER',
      username: 'reader@example.test',
      password: 'tw-pw-read-7',
    });
    expect(res.json.step.type).toBe('connected');
    const { accountId } = res.json.step;
    expect(await stack.accountWhen(accountId, (a) => a.status === 'OK')).toMatchObject({ name: 'reader@example.test' });
    // Every activity of the connection that calls Unipile runs on the queue UNIPILE_MAX_RPS limits; the main queue's
    // activities only keep our own records.
    const history = await stack.client.workflow.getHandle(connectionWorkflowId(res.json.connectionId)).fetchHistory();
    const scheduled = history.events!.flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      return a ? [`${a.activityType!.name} @ ${a.taskQueue!.name}`] : [];
    });
    const queue = stack.config.TEMPORAL_TASK_QUEUE;
    expect(scheduled).toEqual([
      `startConnectionAttempt @ ${unipileTaskQueue(queue)}`,
      `readConnectedAccount @ ${unipileTaskQueue(queue)}`,
      `finishConnection @ ${queue}`,
    ]);
    expect(
      stack.sim.calls.filter((c) => c.method === 'GET' && c.path === `/api/v1/accounts/${accountId}`),
    ).toHaveLength(1);
  });

  test('IMAP/SMTP (MAIL) → connected; a wrong password → failed, naming invalid_credentials', async () => {
    const mail = {
      provider: 'MAIL',
      imap_host: 'imap.example.test',
      imap_port: 993,
      imap_user: 'ada@example.test',
      imap_password: 'imap-s3cret-1',
      smtp_host: 'smtp.example.test',
      smtp_port: 465,
      smtp_user: 'ada@example.test',
      smtp_password: 'smtp-s3cret-1',
    };
    secrets.push('imap-s3cret-1', 'smtp-s3cret-1', 'imap-wrong-2');
    const ok = await connect('ca-mail', mail);
    expect(ok.json.step.type).toBe('connected');
    await stack.accountWhen(ok.json.step.accountId, (a) => a.status === 'OK' && a.provider === 'MAIL');

    stack.script('connect', [{ result: 'fail' }]);
    const wrong = await connect('ca-mail', { ...mail, imap_password: 'imap-wrong-2' });
    expect(wrong.status).toBe(202);
    expect(wrong.json.step).toEqual({ type: 'failed', error: 'invalid_credentials' });
    expect((await read(wrong.json.connectionId)).step).toEqual({ type: 'failed', error: 'invalid_credentials' });
    // A finished connection takes no more answers.
    expect((await answer(wrong.json.connectionId, { code: '1' })).json.error.code).toBe('connection_finished');
  });

  test('WhatsApp QR code: shown, refreshed as Unipile refreshes it, scanned → connected', async () => {
    const res = await connect('ca-wa', { provider: 'WHATSAPP' });
    expect(res.status).toBe(202);
    expect(res.json.step).toMatchObject({ type: 'qrcode', qrcode: expect.stringMatching(/^sim-qr-/) });
    const first: string = res.json.step.qrcode;
    secrets.push(first);
    const intent = lastIntent();
    await stack.simApi('POST', `/_sim/intents/${intent.accountId}/rotate`);
    const rotated = intent.qrcode!;
    secrets.push(rotated);
    await waitFor(async () => (await read(res.json.connectionId)).step.qrcode === rotated, 5000, 'the new QR code');
    // Scanning is answered in the app, not through the API.
    expect((await answer(res.json.connectionId, { code: '1' })).status).toBe(409);
    await stack.simApi('POST', `/_sim/intents/${intent.accountId}/scan`);
    await waitFor(async () => (await read(res.json.connectionId)).step.type === 'connected', 5000, 'connected');
    const done = await read(res.json.connectionId);
    expect(done.step).toEqual({ type: 'connected', accountId: intent.accountId });
    expect(await ownedBy('ca-wa', intent.accountId)).toBe(true);
    record(res.json.connectionId, 'connection-qrcode');
  });

  test('Telegram QR code → scanned → connected', async () => {
    const res = await connect('ca-tg', { provider: 'TELEGRAM' });
    expect(res.json.step.type).toBe('qrcode');
    secrets.push(res.json.step.qrcode);
    await stack.simApi('POST', `/_sim/intents/${lastIntent().accountId}/scan`);
    await waitFor(async () => (await read(res.json.connectionId)).step.type === 'connected', 5000, 'connected');
  });

  test('LinkedIn 2FA: a wrong code is 422 and the step stays; the right code connects', async () => {
    stack.script('connect', [{ result: 'checkpoint', checkpointType: '2FA', source: 'APP', code: '2fa-246810' }]);
    secrets.push('2fa-246810', '2fa-135799');
    const res = await connect('ca-2fa', { provider: 'LINKEDIN', username: 'ada@example.test', password: 'li-pw-2fa' });
    secrets.push('li-pw-2fa');
    expect(res.json.step).toMatchObject({ type: 'checkpoint', checkpoint: '2FA', source: 'APP' });
    expect(Date.parse(res.json.step.expiresAt)).toBeGreaterThan(Date.now());
    // The user's connections in progress list it, with the checkpoint it waits for.
    const listed = (await stack.api$('GET', '/api/users/ca-2fa/connections')).json.items;
    expect(listed).toEqual([
      {
        id: res.json.connectionId,
        method: 'custom_auth',
        provider: 'LINKEDIN',
        step: 'CHECKPOINT',
        checkpoint: { type: '2FA', expiresAt: res.json.step.expiresAt },
      },
    ]);
    const wrong = await answer(res.json.connectionId, { code: '2fa-135799' });
    expect(wrong.status).toBe(422);
    expect(wrong.json.error.code).toBe('invalid_checkpoint_solution');
    expect((await read(res.json.connectionId)).step).toMatchObject({ type: 'checkpoint', checkpoint: '2FA' });
    const right = await answer(res.json.connectionId, { code: '2fa-246810' });
    expect(right.status).toBe(200);
    expect(right.json.step).toMatchObject({ type: 'connected' });
    expect(await ownedBy('ca-2fa', right.json.step.accountId)).toBe(true);
    record(res.json.connectionId, 'connection-2fa-wrong-then-right');
  });

  test('chained: in-app validation → try another way → 2FA → phone → connected', async () => {
    stack.script('connect', [
      {
        result: 'checkpoint',
        checkpointType: 'IN_APP_VALIDATION',
        alternative: { result: 'checkpoint', checkpointType: '2FA', code: '2fa-777111' },
        then: [{ result: 'checkpoint', checkpointType: 'PHONE_REGISTER' }],
      },
    ]);
    secrets.push('2fa-777111');
    const res = await connect('ca-chain', {
      provider: 'LINKEDIN',
      username: 'bob@example.test',
      password: 'li-pw-chain',
    });
    secrets.push('li-pw-chain');
    expect(res.json.step).toMatchObject({ type: 'checkpoint', checkpoint: 'IN_APP_VALIDATION' });
    const other = await answer(res.json.connectionId, { action: 'try_another_way' });
    expect(other.json.step).toMatchObject({ type: 'checkpoint', checkpoint: '2FA' });
    // A code where a phone number is wanted names the field to send.
    const twoFa = await answer(res.json.connectionId, { code: '2fa-777111' });
    expect(twoFa.json.step).toMatchObject({ type: 'checkpoint', checkpoint: 'PHONE_REGISTER' });
    const misfit = await answer(res.json.connectionId, { code: '123' });
    expect(misfit.status).toBe(400);
    expect(misfit.json.error.message).toContain('phone');
    const phone = await answer(res.json.connectionId, { phone: '(+33)612345678' });
    expect(phone.json.step).toMatchObject({ type: 'connected' });
    record(res.json.connectionId, 'connection-chained');
  });

  test('in-app validation approved in the app → connected without an answer here', async () => {
    stack.script('connect', [{ result: 'checkpoint', checkpointType: 'IN_APP_VALIDATION' }]);
    const res = await connect('ca-inapp', {
      provider: 'LINKEDIN',
      username: 'c@example.test',
      password: 'li-pw-inapp',
    });
    secrets.push('li-pw-inapp');
    expect(res.json.step.checkpoint).toBe('IN_APP_VALIDATION');
    await stack.simApi('POST', `/_sim/intents/${lastIntent().accountId}/approve`);
    await waitFor(async () => (await read(res.json.connectionId)).step.type === 'connected', 5000, 'connected');
  });

  test('Recruiter contract chooser: the options are listed, the chosen one connects; resend keeps the step', async () => {
    stack.script('connect', [
      {
        result: 'checkpoint',
        checkpointType: 'OTP',
        code: 'otp-909090',
        then: [
          {
            result: 'checkpoint',
            checkpointType: 'CONTRACT_CHOOSER',
            contractOptions: [
              { id: 'c-1', name: 'Recruiter Lite' },
              { id: 'c-2', name: 'Recruiter' },
            ],
          },
        ],
      },
    ]);
    secrets.push('otp-909090');
    const res = await connect('ca-contract', {
      provider: 'LINKEDIN',
      username: 'r@example.test',
      password: 'li-pw-rec',
    });
    secrets.push('li-pw-rec');
    const resend = await answer(res.json.connectionId, { action: 'resend' });
    expect(resend.status).toBe(200);
    expect(resend.json.step).toMatchObject({ type: 'checkpoint', checkpoint: 'OTP' });
    const otp = await answer(res.json.connectionId, { code: 'otp-909090' });
    expect(otp.json.step).toMatchObject({
      type: 'checkpoint',
      checkpoint: 'CONTRACT_CHOOSER',
      options: [
        { id: 'c-1', name: 'Recruiter Lite' },
        { id: 'c-2', name: 'Recruiter' },
      ],
    });
    const chosen = await answer(res.json.connectionId, { contractId: 'c-2' });
    expect(chosen.json.step).toMatchObject({ type: 'connected' });
  });

  test('no answer within CHECKPOINT_TIMEOUT → 410 expired; the step reads failed: expired', async () => {
    stack.script('connect', [{ result: 'checkpoint', checkpointType: 'OTP', code: 'otp-5555-late' }]);
    const res = await connect('ca-late', {
      provider: 'INSTAGRAM',
      username: 'late@example.test',
      password: 'ig-pw-late',
    });
    secrets.push('ig-pw-late');
    await waitFor(async () => (await read(res.json.connectionId)).step.type === 'failed', 10_000, 'expired');
    expect((await read(res.json.connectionId)).step).toEqual({ type: 'failed', error: 'expired' });
    const late = await answer(res.json.connectionId, { code: 'otp-5555-late' });
    expect(late.status).toBe(410);
    expect(late.json.error.code).toBe('expired');
    record(res.json.connectionId, 'connection-expired');
  });

  test("Unipile's 425 (another intent in progress) and authentication_intent_error are clear failed steps", async () => {
    stack.script('connect', [{ result: 'http_error', status: 425, type: 'errors/too_early' }]);
    const busy = await connect('ca-425', { provider: 'TWITTER', username: 't@example.test', password: 'tw-pw-425' });
    secrets.push('tw-pw-425');
    expect(busy.json.step).toEqual({ type: 'failed', error: 'intent_in_progress' });

    stack.script('connect', [{ result: 'checkpoint', checkpointType: '2FA', code: '2fa-1212-intent' }]);
    const res = await connect('ca-intent', {
      provider: 'MESSENGER',
      username: 'm@example.test',
      password: 'fb-pw-int',
    });
    secrets.push('fb-pw-int');
    stack.script('checkpoint', [{ result: 'http_error', status: 500, type: 'errors/authentication_intent_error' }]);
    const killed = await answer(res.json.connectionId, { code: '2fa-1212-intent' });
    expect(killed.status).toBe(200);
    expect(killed.json.step).toEqual({ type: 'failed', error: 'authentication_intent_error' });
  });

  test('reconnect in place with credentials: same account id, still the user’s', async () => {
    const first = await connect('ca-re', { provider: 'LINKEDIN', username: 're@example.test', password: 'li-pw-re1' });
    const accountId = first.json.step.accountId;
    await stack.accountWhen(accountId, (a) => a.status === 'OK');
    await stack.postWebhook(accountId, 'CREDENTIALS', 'LINKEDIN');
    await stack.accountWhen(accountId, (a) => a.status === 'CREDENTIALS');
    stack.script('reconnect', [{ result: 'checkpoint', checkpointType: '2FA', code: '2fa-3434-reconnect' }], accountId);
    secrets.push('li-pw-re1', 'li-pw-re2', '2fa-3434-reconnect');
    const re = await stack.api$('POST', `/api/accounts/${accountId}/reconnect`, {
      provider: 'LINKEDIN',
      username: 're@example.test',
      password: 'li-pw-re2',
    });
    expect(re.status).toBe(202);
    connectionIds.push(re.json.connectionId);
    expect(re.json.step).toMatchObject({ type: 'checkpoint', checkpoint: '2FA' });
    const done = await answer(re.json.connectionId, { code: '2fa-3434-reconnect' });
    expect(done.json.step).toEqual({ type: 'connected', accountId });
    await stack.accountWhen(accountId, (a) => a.status === 'OK');
    expect(await ownedBy('ca-re', accountId)).toBe(true);
    const mismatch = await stack.api$('POST', `/api/accounts/${accountId}/reconnect`, { provider: 'TELEGRAM' });
    expect(mismatch.status).toBe(409);
  });

  /** The account's status changes, oldest first, from the history a backend reads. */
  const statusChanges = async (accountId: string) =>
    (await stack.events(accountId)).filter((e) => e.type === 'status_changed').map((e) => e.data);
  /** The simulator's account_status webhooks for an account (held ones are not delivered yet). */
  const webhooksFor = (accountId: string) =>
    stack.sim.deliveries.filter((d) => JSON.stringify(d.body).includes(`"account_id":"${accountId}"`));

  test('AccountCreated shows OK at once: no waiting for a webhook that comes late; that webhook changes nothing', async () => {
    stack.sim.holdWebhooks(true);
    try {
      secrets.push('tw-pw-at-once');
      const res = await connect('ca-at-once', {
        provider: 'TWITTER',
        username: 'at-once@example.test',
        password: 'tw-pw-at-once',
      });
      expect(res.json.step.type).toBe('connected');
      const { accountId } = res.json.step;
      // No webhook reached us, yet the account is OK, named as Unipile names it, and its history says connected.
      const account = await stack.accountWhen(accountId, (a) => a.status === 'OK', 5000);
      expect(account).toMatchObject({ status: 'OK', name: 'at-once@example.test' });
      expect(webhooksFor(accountId)).toHaveLength(0);
      expect(await statusChanges(accountId)).toEqual([{ from: 'PENDING', to: 'OK', message: 'CREATION_SUCCESS' }]);

      // Unipile's CREATION_SUCCESS webhook, late: stored and forwarded, but no second transition.
      stack.sim.holdWebhooks(false);
      await waitFor(() => webhooksFor(accountId).some((d) => d.delivered), 10_000, 'the late webhook');
      await waitFor(
        async () =>
          (await stack.db('webhook_receipts').where({ account_id: accountId, source: 'account_status' })).some(
            (r: { state: string }) => r.state === 'forwarded',
          ),
        10_000,
        'the late webhook forwarded',
      );
      await stack.accountWhen(accountId, (a) => a.status === 'OK');
      expect(await statusChanges(accountId)).toHaveLength(1);
    } finally {
      stack.sim.holdWebhooks(false);
    }
  });

  test('AccountReconnected of a reconnect connection shows OK at once, without the webhook', async () => {
    secrets.push('li-pw-rc1', 'li-pw-rc2');
    const first = await connect('ca-rc', { provider: 'LINKEDIN', username: 'rc@example.test', password: 'li-pw-rc1' });
    const accountId = first.json.step.accountId;
    await stack.accountWhen(accountId, (a) => a.status === 'OK');
    await stack.postWebhook(accountId, 'CREDENTIALS', 'LINKEDIN');
    await stack.accountWhen(accountId, (a) => a.status === 'CREDENTIALS');
    stack.sim.holdWebhooks(true);
    try {
      const re = await stack.api$('POST', `/api/accounts/${accountId}/reconnect`, {
        provider: 'LINKEDIN',
        username: 'rc@example.test',
        password: 'li-pw-rc2',
      });
      connectionIds.push(re.json.connectionId);
      expect(re.json.step).toEqual({ type: 'connected', accountId });
      await stack.accountWhen(accountId, (a) => a.status === 'OK', 5000);
      expect(webhooksFor(accountId).filter((d) => JSON.stringify(d.body).includes('RECONNECTED'))).toHaveLength(0);
      expect((await statusChanges(accountId)).at(-1)).toEqual({
        from: 'CREDENTIALS',
        to: 'OK',
        message: 'RECONNECTED',
      });
    } finally {
      stack.sim.holdWebhooks(false);
    }
  });

  test('a checkpoint answered while the provider restricts the account → failed: account_restricted, with what to do', async () => {
    stack.script('connect', [{ result: 'checkpoint', checkpointType: 'OTP', code: 'otp-restricted-77' }]);
    secrets.push('li-pw-restricted', 'otp-restricted-77');
    const res = await connect('ca-restricted', {
      provider: 'LINKEDIN',
      username: 'restricted@example.test',
      password: 'li-pw-restricted',
    });
    expect(res.json.step).toMatchObject({ type: 'checkpoint', checkpoint: 'OTP' });
    // Unipile restricts the account the intent is for (its id is Unipile's, seen on the simulator's side).
    const marked = await fetch(`${stack.sim.url}/_sim/accounts/${lastIntent().accountId}/restricted`, {
      method: 'POST',
    });
    expect(marked.status).toBe(200);
    const done = await answer(res.json.connectionId, { code: 'otp-restricted-77' });
    expect(done.status).toBe(200);
    const failed = {
      type: 'failed',
      error: 'account_restricted',
      message: expect.stringMatching(/restricted this account\. Verify your identity with the provider.*try again/),
    };
    expect(done.json.step).toEqual(failed);
    expect((await read(res.json.connectionId)).step).toEqual(failed);
    // The connection is over: nothing is linked, and it takes no more answers.
    expect((await answer(res.json.connectionId, { code: 'otp-restricted-77' })).json.error.code).toBe(
      'connection_finished',
    );
    expect((await stack.api$('GET', '/api/users/ca-restricted/accounts')).json.items).toEqual([]);
  });

  test('bad input is a 400 naming the field; nothing is started', async () => {
    const before = stack.connectCalls().length;
    const cases: [unknown, string][] = [
      [{ provider: 'LINKEDIN', username: 'x' }, 'password'],
      [{ provider: 'FAX', username: 'x', password: 'y' }, 'provider'],
      [{ provider: 'WHATSAPP', qr: true }, 'qr'],
      [{ provider: 'MAIL', imap_host: 'h', imap_port: 99999 }, 'imap_port'],
    ];
    for (const [body, field] of cases) {
      const res = await stack.api$('POST', '/api/users/ca-bad/accounts', body);
      expect(res.status).toBe(400);
      expect(res.json.error.message).toContain(field);
    }
    expect((await stack.api$('GET', '/api/connections/not-a-connection')).status).toBe(400);
    expect((await stack.api$('GET', '/api/connections/conn_AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
    const noAnswer = await stack.api$('POST', `/api/connections/${connectionIds[0]}/steps`, { pin: '1' });
    expect(noAnswer.status).toBe(400);
    expect(noAnswer.json.error.message).toContain('one of code, phone, contractId or action');
    expect(stack.connectCalls().length).toBe(before);
  });

  test('afterwards no password, code or QR payload is in Temporal history, logs, the database or answers', async () => {
    await waitFor(
      async () => {
        // As a client sees it: no connection is still waiting for a step.
        const steps = await Promise.all(connectionIds.map(async (id) => (await read(id)).step.type));
        return steps.every((type) => type === 'connected' || type === 'failed');
      },
      10_000,
      'every connection finished',
    );
    // Every payload decoded (inputs, update arguments and results, activity results), not the base64 on the wire.
    const histories = connectionIds.map((id) => historyText(stack.config.TEMPORAL_ADDRESS, connectionWorkflowId(id)));
    expect(histories.length).toBeGreaterThan(10);
    // Decoded for real: activity results are readable (they are base64 payloads on the wire).
    expect(histories.join('\n')).toContain('"kind":"checkpoint"');
    const dump = JSON.stringify(await stack.db('connections').select('*'));
    const receipts = JSON.stringify(await stack.db('webhook_receipts').select('*'));
    const finalAnswers = await Promise.all(connectionIds.map((id) => read(id)));
    for (const secret of secrets) {
      for (const h of histories) expect(h).not.toContain(secret);
      expect(stack.logLines.join('\n')).not.toContain(secret);
      expect(dump).not.toContain(secret);
      expect(receipts).not.toContain(secret);
      expect(JSON.stringify(finalAnswers)).not.toContain(secret);
    }
    // Nothing encrypted is kept either, once a connection is done.
    for (const row of await stack.db('connections').select('*'))
      expect([row.credentials_ciphertext, row.answer_ciphertext, row.qrcode_ciphertext]).toEqual([null, null, null]);
  });
});
