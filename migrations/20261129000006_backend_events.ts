import type { Knex } from 'knex';

// Events pushed to the customer's backend: an outbox written in the same transaction as the account's
// history, delivered in order per account by the workers' sender, at least once.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('backend_events', (t) => {
    t.bigIncrements('id').primary();
    // What the receiver sees as `id`: stable across a retried activity, so it can drop repeats.
    t.text('event_id').notNullable().unique();
    t.text('account_id').notNullable();
    t.text('type').notNullable();
    t.jsonb('data').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.text('state').notNullable().defaultTo('pending'); // pending | delivered | dead
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('claimed_until', { useTz: true });
    t.text('last_error');
    t.timestamp('delivered_at', { useTz: true });
  });
  await knex.raw("create index backend_events_pending on backend_events (account_id, id) where state = 'pending'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('backend_events');
}
