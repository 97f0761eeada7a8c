import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cookieBody, Stack, waitFor } from '../helpers/stack';

const SECRET = 'backend-secret-0123456789';

/** What a customer's backend does with a Keeper-Signature (the example in docs/BACKEND-EVENTS.md, verbatim in spirit). */
function verify(header: string | undefined, rawBody: string, now = Date.now()): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=') as [string, string]));
  const t = Number(parts.t);
  if (!Number.isFinite(t) || Math.abs(now / 1000 - t) > 300 || !parts.v1) return false;
  const expected = createHmac('sha256', SECRET).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface Received {
  id: string;
  type: string;
  occurredAt: string;
  data: { accountId: string; status: string; recovery: string; from?: string; to?: string; userId: string };
}

describe('events pushed to the backend', () => {
  const received: Received[] = [];
  const refused: string[] = [];
  let failNext = 0;
  let badSignatures = 0;
  let receiver: Server;
  let stack: Stack;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        if (!verify(req.headers['keeper-signature'] as string | undefined, raw)) {
          badSignatures++;
          res.writeHead(401).end();
          return;
        }
        const event = JSON.parse(raw) as Received;
        if (failNext > 0) {
          failNext--;
          refused.push(event.id);
          res.writeHead(503).end();
          return;
        }
        received.push(event);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const { port } = receiver.address() as AddressInfo;
    stack = await new Stack({
      env: { BACKEND_WEBHOOK_URL: `http://127.0.0.1:${port}/keeper-events`, BACKEND_WEBHOOK_SECRET: SECRET },
    }).start();
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise((r) => receiver.close(r));
  });

  const typesFor = (accountId: string) =>
    received.filter((e) => e.data.accountId === accountId).map((e) => `${e.type}${e.data.to ? `:${e.data.to}` : ''}`);

  test('an incident reaches the backend as signed events, in order, each once', async () => {
    await stack.api$('PUT', '/api/users/pushed', { email: 'pushed@example.test' });
    const { accountId } = await stack.connectViaWizard('pushed', 'GOOGLE');
    await waitFor(() => typesFor(accountId).includes('account.status_changed:OK'), 30_000, 'connected events');
    await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH');
    await waitFor(() => typesFor(accountId).includes('account.email_sent'), 30_000, 'email event');
    await stack.postWebhook(accountId, 'OK', 'GOOGLE_OAUTH');
    await waitFor(() => typesFor(accountId).filter((t) => t === 'account.recovery_changed:NONE').length === 1, 30_000);

    expect(typesFor(accountId)).toEqual([
      'account.connected',
      'account.status_changed:OK',
      'account.status_changed:CREDENTIALS',
      'account.recovery_changed:WAITING_FOR_USER',
      'account.email_sent',
      'account.status_changed:OK',
      'account.recovery_changed:NONE',
    ]);
    const mine = received.filter((e) => e.data.accountId === accountId);
    expect(new Set(mine.map((e) => e.id)).size).toBe(mine.length);
    expect(mine.every((e) => e.data.userId === 'pushed')).toBe(true);
    expect(badSignatures).toBe(0);
  });

  test('a backend that refuses: retried with backoff, still in order, never blocking the account', async () => {
    const accountId = await stack.connectedAccount({ userId: 'refuser', provider: 'WHATSAPP' });
    await waitFor(() => typesFor(accountId).includes('account.status_changed:OK'), 30_000, 'connected events');
    failNext = 3;
    await stack.postWebhook(accountId, 'CONNECTING', 'WHATSAPP');
    await stack.postWebhook(accountId, 'OK', 'WHATSAPP');
    // The account itself moves on at once, whatever the backend answers.
    await waitFor(
      async () => (await stack.api$('GET', `/api/accounts/${accountId}/events?limit=50`)).json.items.length >= 3,
      10_000,
      'account history',
    );
    await waitFor(() => typesFor(accountId).length >= 4, 60_000, 'events delivered after refusals');
    expect(typesFor(accountId).slice(-2)).toEqual(['account.status_changed:CONNECTING', 'account.status_changed:OK']);
    // The refused tries were the same event (same id) each time, then delivered once.
    expect(refused.length).toBe(3);
    expect(new Set(refused).size).toBe(1);
    expect(received.filter((e) => e.id === refused[0])).toHaveLength(1);
  });

  test('a cookie connection waiting for a code tells the backend, with the checkpoint the client must answer', async () => {
    stack.script('connect', [{ result: 'checkpoint', checkpointType: '2FA', code: '111111' }]);
    const token = await stack.extensionToken('pushed-ckpt');
    await stack.postCookies(token, cookieBody('AQEDApushed-checkpoint', 'member-pushed'));
    await waitFor(() => received.some((e) => e.type === 'account.checkpoint_required'), 30_000, 'checkpoint event');
    const event = received.find((e) => e.type === 'account.checkpoint_required')! as Received & {
      data: { checkpoint: { type: string; expiresAt: string }; memberId: string };
    };
    expect(event.data).toMatchObject({ userId: 'pushed-ckpt', memberId: 'member-pushed', checkpoint: { type: '2FA' } });
    // The same account id the connections API gives, so the backend can answer it right away.
    const listed = (await stack.api$('GET', '/api/users/pushed-ckpt/connections')).json.items[0];
    expect(event.data.accountId).toBe(listed.checkpoint.accountId);
    const answer = await stack.api$('POST', `/api/accounts/${event.data.accountId}/checkpoint`, { code: '111111' });
    expect(answer.status).toBe(200);
  });
});
