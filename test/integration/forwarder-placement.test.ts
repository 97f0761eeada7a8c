import { randomBytes } from 'node:crypto';
import { Stack, sleep, waitFor } from '../helpers/stack';

const accountId = (prefix: string) => `${prefix}_${randomBytes(6).toString('base64url')}`;

// FORWARDER_PLACEMENT=worker: the API stores and NOTIFYs, the workers LISTEN and forward. The sweep runs once when
// the role starts and then only after an hour, so whatever is forwarded later was woken by a notification.
describe('forwarding in the workers', () => {
  const stack = new Stack({ env: { FORWARDER_PLACEMENT: 'worker', INBOX_RELAY_INTERVAL: '1h' }, workers: false });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const receipts = async (state: string): Promise<string[]> =>
    (await stack.api$('GET', `/api/receipts?state=${state}&limit=500`)).json.items.map(
      (r: { accountId: string }) => r.accountId,
    );
  const forwarded = (id: string) =>
    waitFor(async () => (await receipts('forwarded')).includes(id), 20_000, `${id} forwarded`);

  test('the API does not forward: with no worker running a webhook stays stored, and the workers deliver it', async () => {
    const id = accountId('stored');
    expect((await stack.postWebhook(id, 'OK')).status).toBe(200);
    await sleep(2000);
    expect(await receipts('pending')).toContain(id);
    await stack.startWorkers();
    await forwarded(id);
  });

  test('a stored webhook wakes the workers at once, long before the next sweep', async () => {
    const id = accountId('notified');
    const t = Date.now();
    expect((await stack.postWebhook(id, 'OK')).status).toBe(200);
    await forwarded(id);
    expect(Date.now() - t).toBeLessThan(20_000);
  });

  test('a listening connection that is killed comes back, and what was stored meanwhile is delivered', async () => {
    const { rows } = await stack.db.raw<{ rows: { killed: boolean }[] }>(
      `select pg_terminate_backend(pid) as killed from pg_stat_activity
       where datname = current_database() and query ilike 'listen webhook_receipts%'`,
    );
    expect(rows.filter((r) => r.killed)).toHaveLength(1);
    const during = accountId('during');
    expect((await stack.postWebhook(during, 'OK')).status).toBe(200);
    await forwarded(during);
    // Listening again: a later webhook is woken by its own notification.
    await waitFor(
      async () =>
        Number(
          (
            await stack.db.raw(
              `select count(*) as n from pg_stat_activity
               where datname = current_database() and query ilike 'listen webhook_receipts%'`,
            )
          ).rows[0].n,
        ) === 1,
      10_000,
      'listening again',
    );
    const after = accountId('after');
    expect((await stack.postWebhook(after, 'OK')).status).toBe(200);
    await forwarded(after);
  });
});
