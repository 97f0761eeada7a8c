import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLedger, recordReliability } from '../helpers/reliability';
import { Stack, waitFor } from '../helpers/stack';
import { freePort, startTemporalDevServer, stopProcess } from '../helpers/temporal-dev-server';

// A real outage: the Temporal dev server keeps its state in a file, is killed (SIGKILL) mid-incident and started
// again on the same port. Durable timers, the workflow run and the webhooks that arrived meanwhile must all survive.
describe('Temporal killed mid-incident and restarted', () => {
  let port: number;
  let dir: string;
  let temporal: ChildProcess | undefined;
  let stack: Stack;

  const startTemporal = async () => {
    temporal = await startTemporalDevServer(port, ['--db-filename', join(dir, 'temporal.db')]);
  };
  const killTemporal = async () => {
    const child = temporal!;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  const mailsTo = (address: string) => stack.smtp.messages.filter((m) => m.to.includes(address));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'temporal-outage-'));
    port = await freePort();
    await startTemporal();
    stack = await new Stack({
      temporalAddress: `127.0.0.1:${port}`,
      env: {
        // A retry interval the outage fits into, and forwarding retries that do not wait long once it is over.
        RECONNECT_RETRY_INTERVAL: '6s',
        RECONNECT_MAX_RETRIES: '2',
        RECEIPT_RETRY_MAX_DELAY: '1s',
      },
    }).start();
  });
  afterAll(async () => {
    await stack?.stop();
    await stopProcess(temporal);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a durable retry timer and the workflow run survive the server being killed', async () => {
    const accountId = await stack.connectedAccount({ userId: 'patient', provider: 'WHATSAPP' });
    const before = await stack.client.workflow.getHandle(`account-${accountId}`).describe();
    stack.script('restart', [{ result: 'fail' }, { result: 'fail' }, { result: 'fail' }], accountId);
    stack.sim.emitStatus(accountId, 'ERROR');
    await waitFor(() => stack.restartCalls(accountId).length === 1, 30_000, 'first restart');

    // Killed while the workflow waits 6 s for its next attempt; down for 4 s.
    await killTemporal();
    const ready = await fetch(`${stack.api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ postgres: 'ok', temporal: 'unreachable' });
    await new Promise((r) => setTimeout(r, 4000));
    await startTemporal();

    await waitFor(() => mailsTo('patient@example.test').length >= 1, 60_000, 'escalation email').catch(() => undefined);
    const after = await stack.client.workflow.getHandle(`account-${accountId}`).describe();
    const view = await stack.accountWhen(accountId, (a) => a.recovery === 'WAITING_FOR_USER').catch(() => undefined);
    const restarts = stack.restartCalls(accountId).length;
    const emails = mailsTo('patient@example.test').length;
    const events = await new EventLedger(stack, [accountId]).count();
    recordReliability({
      injected: 'Temporal dev server SIGKILLed while a 6 s retry timer was pending; down 4 s; restarted from its file',
      times: 1,
      expected: 'same run resumes: 3 restarts, then 1 email',
      observed: `run ${after.runId === before.runId ? 'unchanged' : 'changed'} (${after.status.name}); ${restarts} restarts; ${emails} email(s)`,
      eventsLost: events.lost,
      emailsLost: Math.max(0, 1 - emails),
      duplicateEmails: Math.max(0, emails - 1),
    });
    expect(restarts).toBe(3);
    expect(after.runId).toBe(before.runId);
    expect(after.status.name).toBe('RUNNING');
    expect(view?.status).toBe('ERROR');
    expect(emails).toBe(1);
    expect(events.lost).toBe(0);
  });

  test('webhooks taken in while Temporal is down are forwarded in order once it is back', async () => {
    const accountId = await stack.connectedAccount({ userId: 'orderly', provider: 'GOOGLE' });
    await killTemporal();

    const ledger = new EventLedger(stack, [accountId]);
    await ledger.mark();
    // CREDENTIALS then OK: delivered in that order the account ends OK; in the other order it would end CREDENTIALS.
    const credentials = await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH');
    const ok = await stack.postWebhook(accountId, 'OK', 'GOOGLE_OAUTH');
    expect([credentials.status, ok.status]).toEqual([200, 200]);
    await waitFor(
      async () => {
        const pending = await stack.api$('GET', '/api/receipts?state=pending');
        const mine = pending.json.items.filter((r: { accountId: string }) => r.accountId === accountId);
        return mine.length === 2 && mine.some((r: { attempts: number }) => r.attempts >= 1);
      },
      30_000,
      'both receipts pending, tried at least once',
    );

    await startTemporal();
    await waitFor(
      async () => {
        const pending = await stack.api$('GET', '/api/receipts?state=pending');
        return !pending.json.items.some((r: { accountId: string }) => r.accountId === accountId);
      },
      60_000,
      'receipts forwarded',
    );
    // Forwarded means signalled; the workflow applies them a moment later.
    const changes = async () => {
      const events = (await stack.api$('GET', `/api/accounts/${accountId}/events?limit=100`)).json.items as {
        type: string;
        data: { to?: string };
      }[];
      return events
        .filter((e) => e.type === 'status_changed')
        .map((e) => e.data.to)
        .reverse();
    };
    await waitFor(async () => (await changes()).length >= 3, 30_000, 'both status changes applied').catch(
      () => undefined,
    );
    const view = await stack.accountWhen(accountId, (a) => a.status === 'OK').catch(() => undefined);
    const applied = (await changes()).slice(1);
    const events = await ledger.count([
      { message: 'CREDENTIALS', accepted: credentials.status === 200 ? 1 : 0 },
      { message: 'OK', accepted: ok.status === 200 ? 1 : 0 },
    ]);
    recordReliability({
      injected: 'Temporal dev server SIGKILLed; 2 webhooks (CREDENTIALS, OK) posted while it was down; restarted',
      times: 1,
      expected: 'both answered 200, stored, applied in order once Temporal is back',
      observed: `applied ${applied.join(' → ')}; final ${view?.status}; ${events.delivered} of ${events.stored} receipts delivered`,
      eventsLost: events.lost,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(await changes()).toEqual(['OK', 'CREDENTIALS', 'OK']);
    expect(view?.recovery).not.toBe('WAITING_FOR_USER');
    expect(events.lost).toBe(0);
  });
});
