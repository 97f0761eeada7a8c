import type { Knex } from 'knex';

// Custom-authentication connections: one row per attempt, alive for a few minutes. What the user typed
// (password, code) and Unipile's QR payload are stored encrypted only while a step needs them and erased after it.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('connections', (t) => {
    t.text('id').primary();
    t.text('user_id').notNullable().index();
    t.text('provider').notNullable();
    t.text('kind').notNullable(); // create | reconnect
    // The account being reconnected, or the id Unipile gave the intent (the account's id once connected).
    t.text('account_id');
    // A LinkedIn connection from the extension's cookies: its session (linkedin_sessions), read instead of credentials.
    t.bigInteger('session_id').index();
    // The step as clients read it, without secrets: {type: connected|checkpoint|qrcode|failed, …}.
    t.jsonb('step').notNullable();
    t.text('state').notNullable().defaultTo('pending'); // pending | connected | failed | expired
    t.timestamp('expires_at', { useTz: true });
    t.text('credentials_ciphertext');
    t.text('answer_ciphertext');
    t.text('qrcode_ciphertext');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('connections');
}
