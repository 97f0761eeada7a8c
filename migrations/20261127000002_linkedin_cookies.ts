import type { Knex } from 'knex';

// LinkedIn sessions fed by the browser extension (one row per user and LinkedIn member id, cookies encrypted)
// and the extension tokens that authenticate it.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('extension_tokens', (t) => {
    t.bigIncrements('id').primary();
    t.text('user_id').notNullable().index();
    t.text('token_hash').notNullable().unique(); // sha256 of the token; the token itself is shown once
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
  });

  await knex.schema.createTable('linkedin_sessions', (t) => {
    t.bigIncrements('id').primary();
    t.text('user_id').notNullable();
    t.text('linkedin_member_id').notNullable();
    // `v1.<keyId>.<iv>.<tag>.<ciphertext>`: AES-256-GCM, associated data binds user and member.
    t.text('li_at').notNullable();
    t.text('li_a');
    t.text('cookie_key_id').notNullable();
    // Keyed hash of li_at: tells "a different cookie" apart without the cookie.
    t.text('cookie_fingerprint').notNullable();
    t.text('user_agent').notNullable();
    t.text('ip');
    t.text('country');
    t.timestamp('date_last_cookie', { useTz: true }).notNullable();
    t.text('account_id'); // Unipile account id once connected
    t.text('status').notNullable().defaultTo('PENDING'); // Unipile status as last known
    t.text('recovery').notNullable().defaultTo('NONE');
    t.text('last_error');
    t.text('checkpoint_account_id'); // the account id a pending checkpoint belongs to
    t.text('checkpoint_type');
    t.timestamp('date_last_status_unipile', { useTz: true });
    t.timestamp('date_last_try_connect', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['user_id', 'linkedin_member_id']);
    t.index(['account_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('linkedin_sessions');
  await knex.schema.dropTableIfExists('extension_tokens');
}
