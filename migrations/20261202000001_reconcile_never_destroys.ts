import type { Knex } from 'knex';

// Reconciliation that never destroys:
// - accounts.deleted_by: who made the account DELETED (reconcile | unipile | api). Only a reconciliation deletion
//   can be undone, when Unipile later reports the account alive.
// - accounts.gone_404_at / gone_404_run: Unipile's first 404 for an account missing from a listing (database clock)
//   and the run that saw it; a second 404 in another run at least RECONCILE_GRACE later confirms it gone.
// - reconcile_listed: the accounts one run listed, by run id ("seen in this run" needs no clock at all).
// - reconcile_holds: deletions a run held back (too many, or a listing from another workspace) until an operator
//   confirms them with POST /api/reconcile/confirm or a later clean run resolves them.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('accounts', (t) => {
    t.text('deleted_by');
    t.timestamp('gone_404_at', { useTz: true });
    t.text('gone_404_run');
  });
  // Accounts an earlier version's reconciliation deleted (its DELETED receipt, and none from Unipile or our API)
  // can come back when Unipile reports them alive; every other deletion stays final (deleted_by null).
  await knex.raw(
    `update accounts a set deleted_by = 'reconcile'
     where a.status = 'DELETED'
       and exists (select 1 from webhook_receipts r
                   where r.account_id = a.account_id and r.source = 'reconcile' and r.message = 'DELETED')
       and not exists (select 1 from webhook_receipts r
                       where r.account_id = a.account_id and r.source in ('account_status', 'api')
                         and r.message = 'DELETED')`,
  );
  await knex.schema.createTable('reconcile_listed', (t) => {
    t.text('run_id').notNullable();
    t.text('account_id').notNullable();
    t.text('account_type').notNullable();
    t.text('name');
    t.text('status').notNullable();
    t.timestamp('listed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['run_id', 'account_id']);
  });
  await knex.schema.createTable('reconcile_holds', (t) => {
    t.bigIncrements('id').primary();
    t.text('run_id').notNullable().unique();
    t.text('reason').notNullable(); // too_many | unknown_workspace
    t.jsonb('account_ids').notNullable();
    t.integer('count').notNullable();
    t.integer('max_deletions').notNullable();
    t.text('state').notNullable().defaultTo('held'); // held | confirmed | applied | resolved
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('confirmed_at', { useTz: true });
    t.timestamp('applied_at', { useTz: true });
    t.integer('deleted');
    t.integer('kept');
  });
  await knex.raw("create index reconcile_holds_held on reconcile_holds (id) where state = 'held'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('reconcile_holds');
  await knex.schema.dropTable('reconcile_listed');
  await knex.schema.alterTable('accounts', (t) => {
    t.dropColumn('deleted_by');
    t.dropColumn('gone_404_at');
    t.dropColumn('gone_404_run');
  });
}
