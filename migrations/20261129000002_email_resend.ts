import type { Knex } from 'knex';

// Emails are sent at least once, never lost: a send whose worker died between claiming the row and SMTP's answer is
// claimed again after a while and re-sent with the same Message-ID (mail clients fold the two), and counted.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('email_log', (t) => {
    t.timestamp('claimed_at', { useTz: true });
    t.integer('send_attempts').notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('email_log', (t) => {
    t.dropColumn('send_attempts');
    t.dropColumn('claimed_at');
  });
}
