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
});
