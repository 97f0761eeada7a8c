import type { Knex } from 'knex';

// One answer at a time per connection step: the answer's ciphertext is claimed with the time it was written, so a
// second answer arriving meanwhile is refused instead of overwriting it, and a claim left by a process that died
// is taken over once no step could still be using it. The sweep of abandoned connections reads state and age.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('connections', (t) => {
    t.timestamp('answer_claimed_at', { useTz: true });
    t.index(['state', 'created_at'], 'connections_state_created_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('connections', (t) => {
    t.dropIndex(['state', 'created_at'], 'connections_state_created_at');
    t.dropColumn('answer_claimed_at');
  });
}
