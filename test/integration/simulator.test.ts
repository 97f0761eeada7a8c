import express from 'express';
import { close, listen } from '../../src/platform/http-listen';
import { UnipileSimulator } from '../../src/simulator/unipile-simulator';
import { UnipileApi, UnipileCallError } from '../../src/unipile/unipile-api';
import { waitFor } from '../helpers/stack';

// The simulator must answer like Unipile's documented API, seen through the official SDK wrapper we use.
describe('Unipile simulator', () => {
  const sim = new UnipileSimulator({ apiKey: 'key', webhookRetryDelayMs: 20 });
  let api: UnipileApi;
  beforeAll(async () => {
    api = new UnipileApi(await sim.start(), 'key', 2000);
  });
  afterAll(() => sim.stop());

  test('a wrong key gets 401 missing_credentials', async () => {
    const res = await fetch(`${sim.url}/api/v1/accounts`, { headers: { 'x-api-key': 'wrong' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ status: 401, type: 'errors/missing_credentials', title: 'Missing credentials' });
    await expect(new UnipileApi(sim.url, 'wrong', 2000).getAccount('x')).rejects.toMatchObject({ status: 401 });
  });

  test('hosted link: 201 HostedAuthUrl; expiresOn without milliseconds → 400', async () => {
    const ok = await api.createHostedLink({
      type: 'create',
      providers: '*',
      expiresOn: new Date(Date.now() + 60_000).toISOString(),
      name: 'u',
      notify_url: 'http://127.0.0.1:1/notify',
    });
    expect(ok.url).toMatch(/\/hosted\//);
    const res = await fetch(`${sim.url}/api/v1/hosted/accounts/link`, {
      method: 'POST',
      headers: { 'x-api-key': 'key', 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'create', providers: '*', api_url: sim.url, expiresOn: '2030-01-01T00:00:00Z' }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).type).toBe('errors/invalid_parameters');
  });

  test('accounts: Account objects with sources, 404 for unknown ids, restart and scripted outcomes', async () => {
    const account = sim.createAccount({ type: 'LINKEDIN', status: 'ERROR' });
    expect(await api.getAccount(account.id)).toMatchObject({ object: 'Account', sources: [{ status: 'ERROR' }] });
    expect(await api.getAccount('missing')).toBeNull();
    sim.script('restart', [{ result: 'fail' }, { result: 'http_error', status: 429 }], account.id);
    expect(await api.restartAccount(account.id)).toBe('failed');
    const err = await api.restartAccount(account.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnipileCallError);
    expect(err).toMatchObject({ status: 429, type: 'errors/too_many_requests', transient: true });
    expect(await api.restartAccount(account.id)).toBe('restarted');
    sim.script('restart', [{ result: 'succeed', delayMs: 3000 }], account.id);
    await expect(api.restartAccount(account.id)).rejects.toMatchObject({
      type: 'errors/request_timeout',
      transient: true,
    });
  });

  test('webhooks: 201 WebhookCreated, custom headers, retried 5 times on non-200', async () => {
    const seen: { auth?: string; status: number }[] = [];
    const receiver = express();
    receiver.use(express.json());
    receiver.post('/hook', (req, res) => {
      const status = seen.length < 3 ? 500 : 200;
      seen.push({ auth: req.header('unipile-auth'), status });
      res.sendStatus(status);
    });
    receiver.post('/never', (_req, res) => void res.sendStatus(204));
    const { server, url } = await listen(receiver, 0);
    try {
      const created = await fetch(`${sim.url}/api/v1/webhooks`, {
        method: 'POST',
        headers: { 'x-api-key': 'key', 'content-type': 'application/json' },
        body: JSON.stringify({
          request_url: `${url}/hook`,
          source: 'account_status',
          headers: [{ key: 'Unipile-Auth', value: 's' }],
        }),
      });
      expect(created.status).toBe(201);
      expect(await created.json()).toMatchObject({ object: 'WebhookCreated', webhook_id: expect.any(String) });
      sim.emitStatus('acc-1', 'CREDENTIALS', 'LINKEDIN');
      await waitFor(() => seen.length === 4, 10_000, 'four deliveries');
      expect(seen.every((s) => s.auth === 's')).toBe(true);

      sim.webhooks.clear();
      await fetch(`${sim.url}/api/v1/webhooks`, {
        method: 'POST',
        headers: { 'x-api-key': 'key', 'content-type': 'application/json' },
        body: JSON.stringify({ request_url: `${url}/never`, source: 'account_status' }),
      });
      sim.emitStatus('acc-2', 'OK', 'LINKEDIN');
      await waitFor(
        () => sim.deliveries.some((d) => d.url.endsWith('/never') && d.attempts.length === 6),
        10_000,
        'six tries',
      );
      expect(sim.deliveries.find((d) => d.url.endsWith('/never'))!.delivered).toBe(false);
    } finally {
      await close(server);
    }
  });

  const control = async (path: string, body: unknown = {}, method = 'POST') => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const cookie = { provider: 'LINKEDIN', access_token: 'li_at', user_agent: 'ua' };
  const refused = (promise: Promise<unknown>) =>
    promise.then(
      () => 'answered',
      (err: unknown) => err,
    );

  test('restricted: restart, cookie reconnect and checkpoint answer 403 account_restricted until cleared', async () => {
    const account = sim.createAccount({ type: 'LINKEDIN', status: 'CREDENTIALS' });
    expect((await control(`/_sim/accounts/${account.id}/restricted`)).status).toBe(200);
    for (const call of [api.restartAccount(account.id), api.reconnectLinkedin(account.id, cookie)]) {
      const err = await refused(call);
      expect(err).toBeInstanceOf(UnipileCallError);
      // A final answer: the workflow must not retry it as it would a 5xx.
      expect(err).toMatchObject({ status: 403, type: 'errors/account_restricted', transient: false });
    }
    // Unipile's error shape, as the API answers it.
    const raw = await fetch(`${sim.url}/api/v1/accounts/${account.id}/restart`, {
      method: 'POST',
      headers: { 'x-api-key': 'key' },
    });
    expect(raw.status).toBe(403);
    expect(await raw.json()).toMatchObject({
      status: 403,
      type: 'errors/account_restricted',
      title: expect.any(String),
    });

    // A checkpoint of a restricted account cannot be solved either.
    sim.script('reconnect', [{ result: 'checkpoint', checkpointType: 'OTP', code: '111111' }], account.id);
    await control(`/_sim/accounts/${account.id}/restricted`, {}, 'DELETE');
    expect(await api.reconnectLinkedin(account.id, cookie)).toMatchObject({ object: 'Checkpoint' });
    await control(`/_sim/accounts/${account.id}/restricted`);
    expect(await refused(api.solveCheckpoint(account.id, '111111'))).toMatchObject({
      status: 403,
      type: 'errors/account_restricted',
    });

    // Cleared: normal answers again (the checkpoint is still there to solve).
    await control(`/_sim/accounts/${account.id}/restricted`, {}, 'DELETE');
    expect(await api.solveCheckpoint(account.id, '111111')).toMatchObject({ object: 'AccountReconnected' });
    expect(await api.restartAccount(account.id)).toBe('restarted');
  });

  test('mismatch: cookie reconnects answer 403 with the chosen type, for n calls or until cleared', async () => {
    const account = sim.createAccount({ type: 'LINKEDIN', status: 'CREDENTIALS' });
    expect((await control(`/_sim/accounts/${account.id}/mismatch`, { type: 'bogus' })).status).toBe(400);
    expect((await control(`/_sim/accounts/${account.id}/mismatch`, { times: 0 })).status).toBe(400);

    await control(`/_sim/accounts/${account.id}/mismatch`, { type: 'session_mismatch', times: 1 });
    expect(await refused(api.reconnectLinkedin(account.id, cookie))).toMatchObject({
      status: 403,
      type: 'errors/session_mismatch',
      transient: false,
    });
    expect(await api.reconnectLinkedin(account.id, cookie)).toMatchObject({ object: 'AccountReconnected' });

    await control(`/_sim/accounts/${account.id}/mismatch`); // default type, every reconnect
    for (let i = 0; i < 3; i++) {
      expect(await refused(api.reconnectLinkedin(account.id, cookie))).toMatchObject({
        status: 403,
        type: 'errors/account_mismatch',
      });
    }
    // A restart is no cookie reconnect: it goes through.
    expect(await api.restartAccount(account.id)).toBe('restarted');
    await control(`/_sim/accounts/${account.id}/mismatch`, {}, 'DELETE');
    expect(await api.reconnectLinkedin(account.id, cookie)).toMatchObject({ object: 'AccountReconnected' });
  });

  test('a provider fails and recovers at once: every account, each with its webhook, spread over spreadMs', async () => {
    const bodies: { at: number; status: { account_id: string; message: string } }[] = [];
    const receiver = express();
    receiver.use(express.text({ type: '*/*' })); // the body comes as Unipile sends it, without a JSON content type
    receiver.post('/hook', (req, res) => {
      bodies.push({
        at: Date.now(),
        status: (JSON.parse(req.body as string) as { AccountStatus: never }).AccountStatus,
      });
      res.sendStatus(200);
    });
    const { server, url } = await listen(receiver, 0);
    try {
      sim.reset();
      await fetch(`${sim.url}/api/v1/webhooks`, {
        method: 'POST',
        headers: { 'x-api-key': 'key', 'content-type': 'application/json' },
        body: JSON.stringify({ request_url: `${url}/hook`, source: 'account_status' }),
      });
      const linkedin = [1, 2, 3, 4].map(() => sim.createAccount({ type: 'LINKEDIN' }).id);
      const whatsapp = sim.createAccount({ type: 'WHATSAPP' }).id;

      expect((await control('/_sim/providers/LINKEDIN/fail', { message: 'DELETED' })).status).toBe(400);
      expect((await control('/_sim/providers/LINKEDIN/fail', { spreadMs: -1 })).status).toBe(400);
      const started = Date.now();
      const failed = await control('/_sim/providers/LINKEDIN/fail', { spreadMs: 600 });
      expect(failed.body).toMatchObject({ accounts: 4, message: 'CREDENTIALS' });
      await waitFor(() => bodies.length === 4, 10_000, 'four failure webhooks');
      expect(new Set(bodies.map((b) => b.status.account_id))).toEqual(new Set(linkedin));
      expect(bodies.every((b) => b.status.message === 'CREDENTIALS')).toBe(true);
      // Spread: the first at once, the last about spreadMs later.
      const times = bodies.map((b) => b.at - started);
      expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(450);
      expect((await api.getAccount(linkedin[0]!))!.sources[0]!.status).toBe('CREDENTIALS');
      expect((await api.getAccount(whatsapp))!.sources[0]!.status).toBe('OK');

      // The same through the /control path, for a sync error of another provider, then its recovery (OK).
      expect((await control('/control/providers/WHATSAPP/fail', { message: 'ERROR' })).body).toMatchObject({
        accounts: 1,
      });
      await waitFor(() => bodies.length === 5, 10_000, 'the WhatsApp failure webhook');
      bodies.length = 0;
      expect((await control('/_sim/providers/LINKEDIN/recover', { spreadMs: 100 })).body).toMatchObject({
        accounts: 4,
      });
      expect((await control('/control/providers/WHATSAPP/recover')).body).toMatchObject({ accounts: 1 });
      await waitFor(() => bodies.length === 5, 10_000, 'five recovery webhooks');
      const byAccount = new Map(bodies.map((b) => [b.status.account_id, b.status.message]));
      for (const id of linkedin) expect(byAccount.get(id)).toBe('RECONNECTED');
      expect(byAccount.get(whatsapp)).toBe('OK');
      expect((await api.getAccount(linkedin[3]!))!.sources[0]!.status).toBe('OK');
      // Nothing left to recover.
      expect((await control('/_sim/providers/LINKEDIN/recover')).body).toMatchObject({ accounts: 0 });

      // Held webhooks wait until released.
      bodies.length = 0;
      await control('/_sim/webhooks/hold');
      sim.emitStatus(whatsapp, 'STOPPED');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(bodies).toHaveLength(0);
      expect((await control('/_sim/webhooks/release')).body).toMatchObject({ released: 1 });
      await waitFor(() => bodies.length === 1, 10_000, 'the released webhook');
    } finally {
      await close(server);
    }
  });
});
