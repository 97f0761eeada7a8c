import type { Knex } from 'knex';

// The event pipeline at scale: receipts are claimed with a lease (several API processes may forward), retried with
// backoff and parked as dead after a bounded number of permanent failures; accounts carry the workflow's last
// persisted view so backend reads never wake a workflow.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('webhook_receipts', (t) => {
    t.text('state').notNullable().defaultTo('pending'); // pending | forwarded | dead
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('claimed_until', { useTz: true });
    t.text('claimed_by');
  });
  await knex('webhook_receipts').whereNotNull('forwarded_at').update({ state: 'forwarded' });
  // Receipts without an account cannot be ordered or forwarded; older versions answered them with no_action.
  await knex('webhook_receipts')
    .whereNull('account_id')
    .where({ state: 'pending' })
    .update({ state: 'forwarded', forwarded_at: knex.fn.now(), outcome: 'no_action' });
  // The forwarder reads the head of each account's pending queue; the dead list is read by operators.
  await knex.raw(
    `create index webhook_receipts_pending_idx on webhook_receipts (account_id, id) where state = 'pending'`,
  );
  await knex.raw(`create index webhook_receipts_dead_idx on webhook_receipts (id) where state = 'dead'`);

  await knex.schema.alterTable('accounts', (t) => {
    // What GET /api/accounts/:id shows of the workflow (recovery, incident, next attempt and email times), as the
    // workflow last persisted it.
    t.jsonb('view');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => t.dropColumn('view'));
  await knex.raw('drop index if exists webhook_receipts_dead_idx');
  await knex.raw('drop index if exists webhook_receipts_pending_idx');
  await knex.schema.alterTable('webhook_receipts', (t) => {
    t.dropColumn('claimed_by');
    t.dropColumn('claimed_until');
    t.dropColumn('next_attempt_at');
    t.dropColumn('state');
  });
}
