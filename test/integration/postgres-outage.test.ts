import { OwnPostgres } from '../helpers/own-postgres';
import { EventLedger, recordReliability } from '../helpers/reliability';
import { sleep, Stack, waitFor } from '../helpers/stack';
import { freePort } from '../helpers/temporal-dev-server';

// PostgreSQL itself goes away for ~10 s (a cluster this test owns, stopped as in a crash) while an incident runs.
describe('PostgreSQL stopped mid-incident', () => {
  let pg: OwnPostgres;
  let stack: Stack;

  beforeAll(async () => {
    pg = new OwnPostgres(await freePort()).init();
    pg.start();
    stack = await new Stack({
      pgBase: pg.url,
      env: { RECONNECT_RETRY_INTERVAL: '3s', RECONNECT_MAX_RETRIES: '2', REMINDER_SCHEDULE: '' },
    }).start();
  });
  afterAll(async () => {
    await stack?.stop();
    pg?.destroy();
  });

  test('webhooks are refused with 503 while it is down, nothing half-stored; everything finishes afterwards', async () => {
    const accountId = await stack.connectedAccount({ userId: 'pg-down', provider: 'WHATSAPP' });
    // An incident in progress: the first restart fails, the next ones come every 3 s.
    stack.script('restart', [{ result: 'fail' }, { result: 'fail' }, { result: 'succeed' }], accountId);
    stack.sim.emitStatus(accountId, 'ERROR');
    await waitFor(() => stack.restartCalls(accountId).length >= 1, 30_000, 'first restart');
    const ledger = new EventLedger(stack, [accountId]);
    await ledger.mark();

    pg.stop();
    const downAt = Date.now();
    const refused = await stack.postWebhook(accountId, 'CONNECTING', 'WHATSAPP');
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('unavailable');
    const ready = await fetch(`${stack.api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ postgres: 'unreachable' });
    await sleep(Math.max(0, 10_000 - (Date.now() - downAt)));
    pg.start();
    const downMs = Date.now() - downAt;

    // Unipile retries what it was refused; the incident carries on where it was.
    let accepted = 0;
    await waitFor(
      async () => (await stack.postWebhook(accountId, 'CONNECTING', 'WHATSAPP')).status === 200 && ++accepted > 0,
      30_000,
      'accepted',
    );
    await waitFor(
      async () => (await stack.api$('GET', `/api/accounts/${accountId}`)).json?.status === 'OK',
      60_000,
      'incident closed',
    ).catch(() => undefined);
    const events = (await stack.api$('GET', `/api/accounts/${accountId}/events?limit=200`)).json.items as {
      type: string;
      data: { outcome?: string; message?: string };
    }[];
    const attempts = events
      .filter((e) => e.type === 'attempt')
      .map((e) => e.data.outcome)
      .reverse();
    // Nothing half-stored: the refused webhook left no receipt; the accepted one is the only CONNECTING.
    const receipts = await Promise.all(
      ['pending', 'forwarded', 'dead'].map(async (state) =>
        (
          (await stack.api$('GET', `/api/receipts?state=${state}&limit=500`)).json.items as {
            accountId: string;
            message: string;
          }[]
        ).filter((r) => r.accountId === accountId && r.message === 'CONNECTING'),
      ),
    );
    const counted = await ledger.count([{ message: 'CONNECTING', accepted }]);
    recordReliability({
      injected: `PostgreSQL (a cluster the test owns) stopped immediately for ${Math.round(downMs / 1000)} s mid-incident`,
      times: 1,
      expected:
        'webhook 503 and not stored; readyz 503; after restart the retried webhook is stored once and the incident finishes (3 restarts)',
      observed: `refused ${refused.status}; ${stack.restartCalls(accountId).length} restarts (${attempts.join(', ')}); receipts pending/forwarded/dead ${receipts.map((r) => r.length).join('/')}`,
      eventsLost: counted.lost,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(attempts).toEqual(['failed', 'failed', 'succeeded']);
    expect(events.some((e) => e.type === 'incident_closed')).toBe(true);
    expect(receipts.map((r) => r.length)).toEqual([0, 1, 0]);
    expect(stack.restartCalls(accountId)).toHaveLength(3);
    expect(counted.lost).toBe(0);
  });
});
