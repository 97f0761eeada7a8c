import type { Knex } from 'knex';

// Core schema: users (email contacts), accounts (Unipile's recommended columns plus recovery and workflow id),
// the append-only account event history, the webhook inbox and the email log.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.text('id').primary();
    t.text('email').notNullable();
    t.text('name');
    t.timestamp('created_on', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('accounts', (t) => {
    t.bigIncrements('id').primary();
    // Not a foreign key: an account may connect before its user registers a contact (then: no_contact).
    t.text('user_id').index();
    t.text('account_type');
    t.text('account_id').notNullable().unique(); // Unipile account id
    t.text('name');
    t.text('status').notNullable().defaultTo('PENDING');
    t.text('recovery').notNullable().defaultTo('NONE');
    t.text('workflow_id').notNullable();
    t.timestamp('last_update', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('created_on', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('account_events', (t) => {
    t.bigIncrements('id').primary();
    t.text('account_id').notNullable();
    // Sequence number given by the account workflow; makes activity retries idempotent. Null for API records.
    t.integer('seq');
    t.text('type').notNullable();
    t.jsonb('data').notNullable().defaultTo('{}');
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['account_id', 'seq']);
    t.index(['account_id', 'id']);
  });

  await knex.schema.createTable('webhook_receipts', (t) => {
    t.bigIncrements('id').primary();
    t.text('source').notNullable(); // account_status | hosted_auth
    t.text('account_id');
    t.text('message');
    t.jsonb('payload').notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('forwarded_at', { useTz: true });
    t.text('outcome'); // signalled | ignored_deleted | no_action
    t.integer('forward_attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.index(['forwarded_at', 'id']);
  });

  await knex.schema.createTable('email_log', (t) => {
    t.bigIncrements('id').primary();
    t.text('account_id').notNullable();
    t.integer('incident_id').notNullable();
    t.text('kind').notNullable(); // reconnect_needed | reminder
    t.integer('seq').notNullable().defaultTo(0); // reminder number; 0 for reconnect_needed
    t.text('recipient');
    t.text('status').notNullable(); // sending | sent | failed | no_contact
    t.text('message_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('sent_at', { useTz: true });
    t.unique(['account_id', 'incident_id', 'kind', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['email_log', 'webhook_receipts', 'account_events', 'accounts', 'users']) {
    await knex.schema.dropTableIfExists(table);
  }
}
