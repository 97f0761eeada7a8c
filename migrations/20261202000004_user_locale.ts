import type { Knex } from 'knex';

// The user's language for emails and pages: a canonical BCP 47 tag (`fr-FR`), null when the backend gave none.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.text('locale');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('locale');
  });
}
