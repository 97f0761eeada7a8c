import type { Knex } from 'knex';

// The reconnect page hands out an account's last hosted link again while it is fresh instead of asking Unipile for
// a new one on every click: the link's URL (encrypted: whoever holds it can reconnect the account) and until when
// it may be handed out.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('hosted_links', (t) => {
    t.text('url_ciphertext');
    t.timestamp('reuse_until', { useTz: true });
    t.index(['reconnect_account_id', 'reuse_until']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('hosted_links', (t) => {
    t.dropIndex(['reconnect_account_id', 'reuse_until']);
    t.dropColumn('reuse_until');
    t.dropColumn('url_ciphertext');
  });
}
