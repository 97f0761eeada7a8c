import type { Knex } from 'knex';

// Provider incidents: when many accounts of one provider break at once, the provider itself is down and emails to
// its users are held until it is over. One open incident per provider at most (partial unique index); the accounts
// whose emails wait for it, so that closing it can wake exactly them; and an index that keeps counting the
// accounts' recent incident openings cheap at any history size.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('provider_incidents', (t) => {
    t.bigIncrements('id').primary();
    t.text('provider').notNullable();
    t.timestamp('opened_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('opened_by').notNullable(); // detector | operator
    t.text('reason').notNullable();
    t.timestamp('closed_at', { useTz: true });
    t.text('closed_by'); // detector | operator | max_hold
    t.text('close_reason');
    // Counts at opening, and since when the broken share has stayed below half the threshold (the close rule).
    t.jsonb('details').notNullable().defaultTo('{}');
    t.index(['provider', 'closed_at']);
  });
  await knex.raw(
    'create unique index provider_incidents_one_open on provider_incidents (provider) where closed_at is null',
  );
  await knex.schema.createTable('provider_email_holds', (t) => {
    t.text('account_id').primary();
    t.text('provider').notNullable();
    t.bigInteger('incident_id').notNullable();
    t.timestamp('held_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['incident_id']);
  });
  await knex.raw(
    "create index account_events_incident_opened on account_events (occurred_at) where type = 'incident_opened'",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists account_events_incident_opened');
  await knex.schema.dropTableIfExists('provider_email_holds');
  await knex.schema.dropTableIfExists('provider_incidents');
}
