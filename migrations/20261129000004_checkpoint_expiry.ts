import type { Knex } from 'knex';

// A checkpoint a real client can answer: the cookie-sync answer and the connections list say until
// when the code is awaited.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('linkedin_sessions', (t) => {
    t.timestamp('checkpoint_expires_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('linkedin_sessions', (t) => {
    t.dropColumn('checkpoint_expires_at');
  });
}
