import type { Knex } from 'knex';

// Reconciliation with Unipile's account list: when each account was last seen there, so the accounts a complete
// listing no longer shows can be found (and marked DELETED) in one indexed query.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => {
    t.timestamp('seen_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => {
    t.dropColumn('seen_at');
  });
}
