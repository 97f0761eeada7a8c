import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import { accountIdSchema } from '../../platform/ids';
import { accountStatus, UnipileCallError } from '../../unipile/unipile-api';
import type { HeldVerdict } from '../../workflows/reconcile/contract';
import type { ActivityDeps } from '../deps';

/** An account as Unipile lists it, reduced to what reconciliation compares. */
export interface ListedAccount {
  id: string;
  type: string;
  name: string | null;
  status: string;
}

/** What Unipile answered for one account missing from a listing. */
export type GoneVerdict = 'alive' | 'first_404' | 'gone' | 'unknown';

async function clearGoneMark(db: Knex, accountId: string): Promise<void> {
  await db('accounts').where({ account_id: accountId }).update({ gone_404_at: null, gone_404_run: null });
}

/**
 * Reconciliation's questions to Unipile: its listing, and its own word on each account missing from it. The
 * database writes around them (what a 404 means and when) stay beside the answer, in the same activity.
 */
export function createReconcileUnipileActivities(deps: Pick<ActivityDeps, 'db' | 'unipile' | 'graceMs'>) {
  const { db, unipile } = deps;
  const graceMs = deps.graceMs ?? 0;

  /** Unipile's own word on one account: its account, null for a 404; a refusal (wrong key) decides nothing. */
  async function askUnipile(accountId: string): Promise<boolean | 'unknown'> {
    try {
      return (await unipile.getAccount(accountId)) !== null;
    } catch (err) {
      if (err instanceof UnipileCallError && !err.transient) return 'unknown';
      throw err; // transient: the activity retries; past its retries the workflow decides nothing
    }
  }

  return {
    /** One page of Unipile's accounts (on the Unipile task queue, under the rate cap). */
    async listUnipileAccountsPage(input: { cursor: string | null }): Promise<{
      accounts: ListedAccount[];
      cursor: string | null;
    }> {
      let page;
      try {
        page = await unipile.listAccounts(input.cursor);
      } catch (err) {
        // A refusal (a wrong API key) will not change with retries: this run ends; the next one tries again.
        if (err instanceof UnipileCallError && !err.transient) {
          throw ApplicationFailure.nonRetryable(err.message, err.type);
        }
        throw err;
      }
      return {
        // Ids our account-id rules refuse cannot be stored or signalled: skipped.
        accounts: page.items
          .filter((a) => accountIdSchema.safeParse(a.id).success)
          .map((a) => ({ id: a.id, type: a.type, name: a.name?.slice(0, 256) ?? null, status: accountStatus(a) })),
        // Unipile's cursor, as given (it is opaque and stable under deletions).
        cursor: page.cursor,
      };
    },

    /**
     * Asks Unipile about one account missing from a complete listing (on the Unipile task queue, under the cap).
     * 200: alive, any first 404 forgotten. 404: the first is remembered with the run and the database's time; one in
     * another run at least RECONCILE_GRACE later confirms the account gone. Anything else decides nothing.
     */
    async confirmAccountGone(input: { accountId: string; runId: string }): Promise<GoneVerdict> {
      const found = await askUnipile(input.accountId);
      if (found === 'unknown') return 'unknown';
      if (found) {
        await clearGoneMark(db, input.accountId);
        return 'alive';
      }
      const { rows } = await db.raw<{ rows: { confirmed: boolean }[] }>(
        `update accounts
           set gone_404_at = coalesce(gone_404_at, now()), gone_404_run = coalesce(gone_404_run, ?)
         where account_id = ? and status <> 'DELETED'
         returning gone_404_run <> ? and gone_404_at <= now() - (? * interval '1 millisecond') as confirmed`,
        [input.runId, input.accountId, input.runId, graceMs],
      );
      return rows[0]?.confirmed ? 'gone' : 'first_404';
    },

    /**
     * Unipile's word on one held account, once an operator confirmed the hold (on the Unipile task queue), under the
     * same two-404 rule as a run: a 404 confirms the account gone only when an earlier first 404 (a run's, or this
     * confirmation's) is at least RECONCILE_GRACE old; otherwise it is the first, remembered with the time left.
     */
    async checkHeldAccount(input: { accountId: string; holdId: number }): Promise<HeldVerdict> {
      const found = await askUnipile(input.accountId);
      if (found === 'unknown') return { verdict: 'unknown', waitMs: 0 };
      if (found) {
        await clearGoneMark(db, input.accountId);
        return { verdict: 'alive', waitMs: 0 };
      }
      // `p.prev` is the first 404 as it stood before this answer: this 404 can be the second, never both.
      const { rows } = await db.raw<{ rows: { confirmed: boolean; wait_ms: number }[] }>(
        `update accounts a
           set gone_404_at = coalesce(a.gone_404_at, now()), gone_404_run = coalesce(a.gone_404_run, ?)
          from (select account_id, gone_404_at as prev from accounts where account_id = ?) p
         where a.account_id = p.account_id and a.status <> 'DELETED'
         returning p.prev is not null and p.prev <= now() - (? * interval '1 millisecond') as confirmed,
                   greatest(0, ceil(extract(epoch from
                     coalesce(p.prev, now()) + (? * interval '1 millisecond') - now()) * 1000))::float8 as wait_ms`,
        [`confirm-${input.holdId}`, input.accountId, graceMs, graceMs],
      );
      const row = rows[0];
      if (!row) return { verdict: 'unknown', waitMs: 0 }; // deleted meanwhile: nothing left to decide
      return row.confirmed ? { verdict: 'gone', waitMs: 0 } : { verdict: 'first_404', waitMs: Number(row.wait_ms) };
    },
  };
}
