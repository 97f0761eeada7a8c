import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { insertReceipts } from '../../src/inbound/inbound-events';
import { ReceiptForwarder } from '../../src/inbound/receipt-forwarder';
import { createLogger } from '../../src/platform/logger';
import { accountSettings } from '../../src/platform/config';
import { Stack, waitFor } from '../helpers/stack';
import { spawnTs, waitForHttp } from '../helpers/processes';
import { freePort, stopProcess } from '../helpers/temporal-dev-server';

const accountId = (prefix: string, i: number) => `${prefix}${i}_${randomBytes(6).toString('base64url')}`;
/** Every message a transition: CONNECTING and OK alternate, so a swap of two would show in the history. */
const sequence = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 'CONNECTING' : 'OK'));

describe('the event pipeline', () => {
  const stack = new Stack({ env: { RECEIPT_MAX_ATTEMPTS: '2' } });
  let second: ChildProcess | undefined;
  let secondUrl = '';
  const secondOutput: string[] = [];

  beforeAll(async () => {
    await stack.start();
    // A second API process on the same database: the production topology with two replicas.
    const port = await freePort();
    secondUrl = `http://127.0.0.1:${port}`;
    second = spawnTs('src/api/server.ts', { ...stack.env, PORT: String(port), LOG_LEVEL: 'warn' }, secondOutput);
    await waitForHttp(`${secondUrl}/healthz`, second);
  });
  afterAll(async () => {
    await stopProcess(second);
    await stack.stop();
  });

  const post = (base: string, id: string, message: string) =>
    fetch(`${base}/webhooks/unipile/account-status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'unipile-auth': stack.config.UNIPILE_WEBHOOK_SECRET },
      body: JSON.stringify({ AccountStatus: { account_id: id, account_type: 'WHATSAPP', message } }),
    });

  /** The statuses the account went through, oldest first, read from the public events API. */
  async function statusPath(id: string): Promise<string[]> {
    const res = await stack.api$('GET', `/api/accounts/${id}/events?limit=200`);
    if (res.status !== 200) return [];
    return (res.json.items as { type: string; data: { to: string } }[])
      .filter((e) => e.type === 'status_changed')
      .map((e) => e.data.to)
      .reverse();
  }

  /** Signals the account workflow received, from its Temporal history (what an operator sees). */
  async function signalsReceived(id: string): Promise<number> {
    const history = await stack.client.workflow.getHandle(`account-${id}`).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  }

  test('events of many accounts forwarded in parallel keep each account’s order, across two API processes', async () => {
    const ids = Array.from({ length: 24 }, (_, i) => accountId('ord', i));
    const messages = sequence(8);
    // Accounts in parallel; within one account each webhook is posted after the previous was answered, to one
    // API process or the other in turn, as a load balancer would.
    await Promise.all(
      ids.map(async (id) => {
        for (const [n, message] of messages.entries()) {
          const res = await post(n % 2 === 0 ? stack.api.url : secondUrl, id, message);
          expect(res.status).toBe(200);
        }
      }),
    );
    for (const id of ids) {
      await waitFor(async () => (await statusPath(id)).length === messages.length, 30_000, `${id} applied`);
      expect(await statusPath(id)).toEqual(messages);
      // Each stored event reached the workflow exactly once, whichever process forwarded it.
      expect(await signalsReceived(id)).toBe(messages.length);
    }
    const pending = await stack.api$('GET', '/api/receipts?state=pending');
    expect(pending.json.items).toEqual([]);
  });

  test('two forwarders sweeping one backlog deliver each receipt once, in order', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => accountId('bk', i));
    const messages = sequence(5);
    // A backlog as a Temporal outage leaves it: stored through the one way in, not yet forwarded.
    for (const message of messages) {
      await insertReceipts(
        stack.db,
        ids.map((id) => ({
          source: 'account_status' as const,
          accountId: id,
          payload: { AccountStatus: { account_id: id, account_type: 'TELEGRAM', message } },
        })),
      );
    }
    const forwarders = ['one', 'two'].map(
      (owner) =>
        new ReceiptForwarder(
          {
            db: stack.db,
            temporal: stack.client,
            settings: accountSettings(stack.config),
            logger: createLogger('silent'),
          },
          {
            owner,
            leaseMs: 30_000,
            sweepIntervalMs: 100,
            concurrency: 8,
            maxAttempts: 3,
            maxRetryDelayMs: 1000,
            retentionMs: 0,
          },
        ),
    );
    forwarders.forEach((f) => f.start());
    try {
      for (const id of ids) {
        await waitFor(async () => (await statusPath(id)).length === messages.length, 30_000, `${id} applied`);
        expect(await statusPath(id)).toEqual(messages);
        expect(await signalsReceived(id)).toBe(messages.length);
      }
    } finally {
      await Promise.all(forwarders.map((f) => f.stop()));
    }
  });

  test('a receipt that can never be delivered is parked as dead while every other account’s events flow', async () => {
    const healthy = Array.from({ length: 5 }, (_, i) => accountId('ok', i));
    // Stored by an older version that did not check ids at the edge: Temporal would refuse this workflow id.
    const poisoned = 'x'.repeat(2000);
    await stack.db('webhook_receipts').insert({
      source: 'account_status',
      account_id: poisoned,
      message: 'ERROR',
      payload: JSON.stringify({ AccountStatus: { account_id: poisoned, account_type: 'LINKEDIN', message: 'ERROR' } }),
    });
    // Passes the stored-receipt schema, but Temporal refuses it (INVALID_ARGUMENT: the signal exceeds its size
    // limit) on every try: retried RECEIPT_MAX_ATTEMPTS times, then parked.
    const refusedId = accountId('refused', 0);
    await insertReceipts(stack.db, [
      {
        source: 'cookie_connection',
        accountId: refusedId,
        payload: { userId: 'big', provider: 'WHATSAPP', name: 'n'.repeat(2_500_000) },
      },
    ]);
    for (const id of healthy) expect((await post(stack.api.url, id, 'OK')).status).toBe(200);
    for (const id of healthy) await waitFor(async () => (await statusPath(id)).length === 1, 30_000, `${id} OK`);

    await waitFor(
      async () => (await stack.api$('GET', '/api/receipts?state=dead')).json.items.length === 2,
      30_000,
      'both receipts parked',
    );
    const [refused, dead] = (await stack.api$('GET', '/api/receipts?state=dead')).json.items;
    expect(refused).toMatchObject({ source: 'cookie_connection', accountId: refusedId, state: 'dead', attempts: 2 });
    expect(refused.lastError).toContain('signalWithStart');
    expect(dead).toMatchObject({ source: 'account_status', state: 'dead', message: 'ERROR', attempts: 1 });
    expect(dead.lastError).toContain('invalid stored receipt');
    // Either API process may have swept them: the gauge reads the database, the counters are per process.
    const metrics = await Promise.all(
      [stack.api.url, secondUrl].map(async (u) => (await fetch(`${u}/metrics`)).text()),
    );
    expect(metrics[0]).toMatch(/unipile_receipts\{state="dead"\} 2/);
    const refusals = metrics.map((m) => Number(/forward_failures_total\{kind="permanent"\} (\d+)/.exec(m)?.[1] ?? 0));
    expect(refusals[0]! + refusals[1]!).toBe(2);

    // Replaying it after the cause is "fixed" is possible; this one fails again and is parked again.
    const replay = await stack.api$('POST', `/api/receipts/${dead.id}/replay`);
    expect(replay.status).toBe(202);
    await waitFor(
      async () => (await stack.api$('GET', '/api/receipts?state=dead')).json.items[1]?.receivedAt === dead.receivedAt,
      30_000,
      'parked again',
    );
    const forwarded = (await stack.api$('GET', '/api/receipts?state=forwarded&limit=1')).json.items[0];
    expect((await stack.api$('POST', `/api/receipts/${forwarded.id}/replay`)).status).toBe(409);
    expect((await stack.api$('POST', '/api/receipts/999999999/replay')).status).toBe(404);
  });

  test('ids are checked at the edge: a webhook whose account_id is not a Unipile id is refused and not stored', async () => {
    const pending = async () => (await stack.api$('GET', '/api/receipts?state=pending')).json.items.length;
    await waitFor(async () => (await pending()) === 0, 30_000, 'nothing pending');
    for (const bad of ['x'.repeat(65), '../webhooks', 'a?b', 'a b', '']) {
      const res = await post(stack.api.url, bad, 'OK');
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toContain('AccountStatus.account_id');
    }
    const path = await stack.api$('GET', `/api/accounts/${encodeURIComponent('a'.repeat(65))}`);
    expect(path.status).toBe(400);
    expect(path.json.error.message).toContain('accountId');
    expect(await pending()).toBe(0);
  });

  test('backend reads answer from the stored view; ?live=true asks the workflow', async () => {
    const id = accountId('read', 0);
    expect((await post(stack.api.url, id, 'OK')).status).toBe(200);
    await waitFor(async () => (await stack.api$('GET', `/api/accounts/${id}`)).json?.workflow?.status === 'OK');
    const stored = await stack.api$('GET', `/api/accounts/${id}`);
    expect(stored.json).toMatchObject({ status: 'OK', live: false, workflow: { status: 'OK', recovery: 'NONE' } });
    const live = await stack.api$('GET', `/api/accounts/${id}?live=true`);
    expect(live.json).toMatchObject({ status: 'OK', live: true, workflow: { status: 'OK', accountId: id } });
    expect((await stack.api$('GET', `/api/accounts/${id}?verbose=1`)).status).toBe(400);
  });

  test('a workflow that ended without a deletion is started again by the next event; a deleted one is not', async () => {
    const id = accountId('term', 0);
    expect((await post(stack.api.url, id, 'OK')).status).toBe(200);
    const handle = stack.client.workflow.getHandle(`account-${id}`);
    await waitFor(async () => (await stack.api$('GET', `/api/accounts/${id}`)).json?.status === 'OK');
    // An operator terminates it (or it failed): the account must not stop being watched.
    await handle.terminate('operator test');
    expect((await post(stack.api.url, id, 'CREDENTIALS')).status).toBe(200);
    await waitFor(async () => (await handle.describe()).status.name === 'RUNNING', 30_000, 'a new run');
    await waitFor(async () => (await stack.api$('GET', `/api/accounts/${id}`)).json?.status === 'CREDENTIALS');

    expect((await post(stack.api.url, id, 'DELETED')).status).toBe(200);
    await waitFor(async () => (await handle.describe()).status.name === 'COMPLETED', 30_000, 'completed');
    const deletedRun = (await handle.describe()).runId;
    expect((await post(stack.api.url, id, 'OK')).status).toBe(200);
    await waitFor(async () => (await stack.api$('GET', '/api/receipts?state=pending')).json.items.length === 0);
    expect((await handle.describe()).runId).toBe(deletedRun);
  });
});
