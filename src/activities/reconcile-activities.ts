import type { Knex } from 'knex';
import { accountWorkflowId } from '../workflows/definitions';
import { upsertAccount } from '../db/repository';
import { accountIdSchema } from '../ids';
import { receiveEvents, type Forwarding, type InboundEvent } from '../inbound/inbound-events';
import { ApplicationFailure } from '@temporalio/activity';
import { accountStatus, UnipileCallError, type UnipileApi } from '../unipile/unipile-api';

export interface ReconcileDeps {
  db: Knex;
  unipile: UnipileApi;
  forwarding: Forwarding;
  /** RECONCILE_GRACE: how old an account never listed must be before it counts as gone. */
  graceMs?: number;
}

/** An account as Unipile lists it, reduced to what reconciliation compares. */
export interface ListedAccount {
  id: string;
  type: string;
  name: string | null;
  status: string;
}

const statusEvent = (a: ListedAccount, message: string): InboundEvent => ({
  source: 'reconcile',
  accountId: a.id,
  payload: { AccountStatus: { account_id: a.id, account_type: a.type, message } },
});

/**
 * Reconciliation with Unipile's account list (a dropped webhook must not leave an account wrong forever). What it
 * finds goes through the one way in, as `reconcile` events: the account workflows act on them like on webhooks.
 */
export function createReconcileActivities(deps: ReconcileDeps) {
  const { db, unipile, forwarding } = deps;

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
        // Ids outside SPEC §10.1 cannot be stored or signalled: skipped.
        accounts: page.items
          .filter((a) => accountIdSchema.safeParse(a.id).success)
          .map((a) => ({ id: a.id, type: a.type, name: a.name?.slice(0, 256) ?? null, status: accountStatus(a) })),
        cursor: page.cursor,
      };
    },

    /**
     * Marks the page's accounts as seen, and stores an event for each one whose status differs from ours (ours not
     * DELETED) and for each one we have no row for (a row without a user is created; the event starts its workflow).
     */
    async reconcileAccountsPage(input: { accounts: ListedAccount[] }): Promise<{ differing: number; unknown: number }> {
      const ids = input.accounts.map((a) => a.id);
      if (ids.length === 0) return { differing: 0, unknown: 0 };
      const ours = new Map(
        (
          (await db('accounts')
            .whereIn('account_id', ids)
            .update({ seen_at: db.fn.now() }, ['account_id', 'status'])) as {
            account_id: string;
            status: string;
          }[]
        ).map((r) => [r.account_id, r.status]),
      );
      let differing = 0;
      let unknown = 0;
      for (const account of input.accounts) {
        const status = ours.get(account.id);
        if (status === undefined) {
          unknown++;
          await receiveEvents({ db, forwarding }, [statusEvent(account, account.status)], async (trx) => {
            await upsertAccount(trx, {
              accountId: account.id,
              workflowId: accountWorkflowId(account.id),
              provider: account.type,
              name: account.name,
            });
            await trx('accounts').where({ account_id: account.id }).update({ seen_at: trx.fn.now() });
          });
        } else if (status !== account.status && status !== 'DELETED' && account.status !== 'PENDING') {
          differing++;
          await receiveEvents({ db, forwarding }, [statusEvent(account, account.status)]);
        }
      }
      return { differing, unknown };
    },

    /**
     * After a complete listing: our accounts Unipile did not list (not seen since the run started, and older than
     * it) are gone there, and become DELETED through an event each.
     */
    async reconcileGoneAccounts(input: { runStartedAt: string }): Promise<number> {
      // Never listed yet: only once older than the grace, since Unipile may not list a new account at once.
      const unseenBefore = new Date(Date.parse(input.runStartedAt) - (deps.graceMs ?? 0)).toISOString();
      const gone = (await db('accounts')
        .whereNot({ status: 'DELETED' })
        .where('created_on', '<', input.runStartedAt)
        .where((q) =>
          q
            .where((seen) => seen.whereNull('seen_at').where('created_on', '<', unseenBefore))
            .orWhere('seen_at', '<', input.runStartedAt),
        )
        .select('account_id', 'account_type')) as { account_id: string; account_type: string | null }[];
      for (const row of gone) {
        await receiveEvents({ db, forwarding }, [
          statusEvent(
            { id: row.account_id, type: row.account_type ?? 'UNKNOWN', name: null, status: 'DELETED' },
            'DELETED',
          ),
        ]);
      }
      return gone.length;
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
