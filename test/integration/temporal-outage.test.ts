import type { ChildProcess } from 'node:child_process';
import { Stack, waitFor } from '../helpers/stack';
import { freePort, startTemporalDevServer, stopProcess } from '../helpers/temporal-dev-server';

describe('webhooks while Temporal is unreachable', () => {
  let port: number;
  let stack: Stack;
  let temporal: ChildProcess | undefined;

  beforeAll(async () => {
    port = await freePort();
    // Nothing listens on this port yet: the API must still take webhooks in.
    stack = await new Stack({ temporalAddress: `127.0.0.1:${port}`, workers: false }).start();
  });
  afterAll(async () => {
    await stack.stop();
    await stopProcess(temporal);
  });

  test('the webhook is answered 200 and stored, then forwarded and acted on once Temporal is back', async () => {
    await stack.api$('PUT', '/api/users/patient', { email: 'patient@example.test' });
    const { accountId } = await stack.connectViaWizard('patient', 'GOOGLE');
    const res = await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH');
    expect(res.status).toBe(200);

    const ready = await fetch(`${stack.api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ postgres: 'ok', temporal: 'unreachable' });

    const stored = await stack.db('webhook_receipts').where({ account_id: accountId, message: 'CREDENTIALS' }).first();
    expect(stored.forwarded_at).toBeNull();
    // Receipts are forwarded oldest first (the hosted-auth callback, then this one); the relay keeps retrying.
    await waitFor(
      async () => (await stack.db('webhook_receipts').where('forward_attempts', '>', 1)).length > 0,
      30_000,
      'retries',
    );

    temporal = await startTemporalDevServer(port);
    await stack.startWorkers();

    await waitFor(() => stack.smtp.messages.some((m) => m.to.includes('patient@example.test')), 60_000, 'email');
    const forwarded = await stack.db('webhook_receipts').where({ id: stored.id }).first();
    expect(forwarded.forwarded_at).not.toBeNull();
    expect(forwarded.outcome).toBe('signalled');
    const row = await stack.accountRow(accountId);
    expect(row).toMatchObject({ status: 'CREDENTIALS', recovery: 'WAITING_FOR_USER', user_id: 'patient' });
  });
});
