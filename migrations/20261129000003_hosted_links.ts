import type { Knex } from 'knex';

// Every hosted-auth link we ask Unipile for, so its notify_url callback is bound to that one link: it can name one
// account only (the first it succeeded for; Unipile's retries of that callback still answer 200), and a reconnect
// link only the account it reconnects.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('hosted_links', (t) => {
    t.text('link_id').primary();
    t.text('user_id').notNullable();
    t.text('kind').notNullable();
    t.text('reconnect_account_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.text('account_id');
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('hosted_links');
}
