import type { Knex } from 'knex';
import { accountWorkflowId } from '../workflows/account/contract';
import { type HeldVerdict, type ReconcileHold } from '../workflows/reconcile/contract';
import { deletionLimit, type ListingFacts } from '../workflows/reconcile/rules';
import { upsertAccount } from '../accounts/repository';
import { accountIdSchema } from '../platform/ids';
import { receiveEvents, type Forwarding, type InboundEvent } from '../inbound/inbound-events';
import { enqueueBackendEvents, reconcileHeldEvent } from '../backend-events/outbox';
import { ApplicationFailure, log } from '@temporalio/activity';
import { accountStatus, UnipileCallError, type UnipileApi } from '../unipile/unipile-api';

export interface ReconcileDeps {
  db: Knex;
  unipile: UnipileApi;
  forwarding: Forwarding;
  /**
   * RECONCILE_GRACE: how far apart Unipile's two 404s for a missing account must be, and how old an account never
   * listed must be before it counts as missing.
   */
  graceMs?: number;
  /** RECONCILE_MAX_DELETIONS (unset: 10 or 1 % of the accounts). */
  maxDeletions?: number;
  /** Whether events for the customer's backend are written (BACKEND_WEBHOOK_URL set). */
  backendEvents?: boolean;
}

/** An account as Unipile lists it, reduced to what reconciliation compares. */
export interface ListedAccount {
  id: string;
  type: string;
  name: string | null;
  status: string;
}

/** What Unipile answered for one account missing from a listing. */
export type GoneVerdict = 'alive' | 'first_404' | 'gone' | 'unknown';

const statusEvent = (a: ListedAccount, message: string): InboundEvent => ({
  source: 'reconcile',
  accountId: a.id,
  payload: { AccountStatus: { account_id: a.id, account_type: a.type, message } },
});

/**
 * Our accounts a run's listing did not show: not DELETED, not staged under the run, and either seen in an earlier
 * listing or older than the grace (Unipile may not list an account connected a moment ago). Only the database's
 * clock is used; "seen in this run" is the run id, no clock at all.
 */
function missingAccounts(db: Knex, runId: string, graceMs: number): Knex.QueryBuilder {
  return db('accounts as a')
    .whereNot('a.status', 'DELETED')
    .whereNotExists(db('reconcile_listed as l').where('l.run_id', runId).whereRaw('l.account_id = a.account_id'))
    .where((q) =>
      q
        .whereNotNull('a.seen_at')
        .orWhere('a.created_on', '<', db.raw(`now() - (? * interval '1 millisecond')`, [graceMs])),
    );
}

/**
 * Reconciliation with Unipile's account list (a dropped webhook must not leave an account wrong forever), built so
 * that it never destroys (SPEC §11.1). What it finds goes through the one way in, as `reconcile` events: the account
 * workflows act on them like on webhooks.
 */
export function createReconcileActivities(deps: ReconcileDeps) {
  const { db, unipile, forwarding } = deps;
  const graceMs = deps.graceMs ?? 0;

  /** An account Unipile lists and we have no row for: a row without a user, and the event that starts its workflow. */
  async function adopt(account: ListedAccount): Promise<void> {
    await receiveEvents({ db, forwarding }, [statusEvent(account, account.status)], async (trx) => {
      await upsertAccount(trx, {
        accountId: account.id,
        workflowId: accountWorkflowId(account.id),
        provider: account.type,
        name: account.name,
      });
      await trx('accounts').where({ account_id: account.id }).update({ seen_at: trx.fn.now() });
    });
  }

  /** Unipile's own word on one account: its account, null for a 404; a refusal (wrong key) decides nothing. */
  async function askUnipile(accountId: string): Promise<boolean | 'unknown'> {
    try {
      return (await unipile.getAccount(accountId)) !== null;
    } catch (err) {
      if (err instanceof UnipileCallError && !err.transient) return 'unknown';
      throw err; // transient: the activity retries; past its retries the workflow decides nothing
    }
  }

  async function clearGoneMark(accountId: string): Promise<void> {
    await db('accounts').where({ account_id: accountId }).update({ gone_404_at: null, gone_404_run: null });
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
        // Ids outside SPEC §10.1 cannot be stored or signalled: skipped.
        accounts: page.items
          .filter((a) => accountIdSchema.safeParse(a.id).success)
          .map((a) => ({ id: a.id, type: a.type, name: a.name?.slice(0, 256) ?? null, status: accountStatus(a) })),
        // Unipile's cursor, as given (it is opaque and stable under deletions).
        cursor: page.cursor,
      };
    },

    /** Stages one page of the run's listing; nothing is judged before the listing is complete. */
    async stageListedAccounts(input: { runId: string; accounts: ListedAccount[] }): Promise<void> {
      if (input.accounts.length === 0) return;
      await db('reconcile_listed')
        .insert(
          input.accounts.map((a) => ({
            run_id: input.runId,
            account_id: a.id,
            account_type: a.type,
            name: a.name,
            status: a.status,
          })),
        )
        .onConflict(['run_id', 'account_id'])
        .ignore();
    },

    /** Counts what the complete listing shows against what we hold, for the hold rules. */
    async summarizeListing(input: { runId: string }): Promise<ListingFacts> {
      const count = async (q: Knex.QueryBuilder): Promise<number> =>
        Number(((await q.count({ n: '*' }).first()) as { n: string | number } | undefined)?.n ?? 0);
      const listed = await count(db('reconcile_listed').where({ run_id: input.runId }));
      const knownListed = await count(
        db('reconcile_listed as l')
          .join('accounts as a', 'a.account_id', 'l.account_id')
          .where('l.run_id', input.runId)
          .whereNotNull('a.seen_at'),
      );
      const seenBefore = await count(db('accounts').whereNot({ status: 'DELETED' }).whereNotNull('seen_at'));
      const accounts = await count(db('accounts').whereNot({ status: 'DELETED' }));
      const missing = await count(missingAccounts(db, input.runId, graceMs));
      return { listed, knownListed, seenBefore, missing, maxDeletions: deletionLimit(deps.maxDeletions, accounts) };
    },

    /**
     * Acts on a complete listing: marks the listed accounts seen (and alive: any first 404 is forgotten), stores an
     * event for each whose status differs from ours, restores each that reconciliation had deleted, and adopts the
     * accounts we have no row for (unless the listing is another workspace's). Then either holds the missing
     * accounts for an operator, or returns them to be asked of Unipile one by one.
     */
    async applyListing(input: {
      runId: string;
      hold: Pick<ReconcileHold, 'reason' | 'count'> | null;
      maxDeletions: number;
    }): Promise<{
      differing: number;
      unknown: number;
      restored: number;
      held: ReconcileHold | null;
      missing: string[];
    }> {
      const { runId, hold } = input;
      const { rows: listed } = await db.raw<{
        rows: {
          account_id: string;
          status: string;
          deleted_by: string | null;
          account_type: string;
          name: string | null;
          listed: string;
        }[];
      }>(
        `update accounts a set seen_at = now(), gone_404_at = null, gone_404_run = null
         from reconcile_listed l
         where l.run_id = ? and l.account_id = a.account_id
         returning a.account_id, a.status, a.deleted_by, l.account_type, l.name, l.status as listed`,
        [runId],
      );
      let differing = 0;
      let restored = 0;
      for (const row of listed) {
        const account = { id: row.account_id, type: row.account_type, name: row.name, status: row.listed };
        if (row.status === 'DELETED') {
          // Listed, so alive: a deletion of ours is undone (the forwarder restores it); Unipile's or the API's stays.
          if (row.deleted_by !== 'reconcile') continue;
          restored++;
          await receiveEvents({ db, forwarding }, [
            statusEvent(account, row.listed === 'PENDING' ? 'CONNECTING' : row.listed),
          ]);
        } else if (row.status !== row.listed && row.listed !== 'PENDING') {
          differing++;
          await receiveEvents({ db, forwarding }, [statusEvent(account, row.listed)]);
        }
      }

      let unknown = 0;
      if (hold?.reason !== 'unknown_workspace') {
        const strangers = (await db('reconcile_listed as l')
          .leftJoin('accounts as a', 'a.account_id', 'l.account_id')
          .where('l.run_id', runId)
          .whereNull('a.account_id')
          .select('l.account_id', 'l.account_type', 'l.name', 'l.status')) as {
          account_id: string;
          account_type: string;
          name: string | null;
          status: string;
        }[];
        for (const s of strangers) {
          unknown++;
          await adopt({ id: s.account_id, type: s.account_type, name: s.name, status: s.status });
        }
      }

      const missingIds = async (limit?: number): Promise<string[]> => {
        const q = missingAccounts(db, runId, graceMs).orderBy('a.account_id').pluck('a.account_id');
        return (await (limit === undefined ? q : q.limit(limit))) as string[];
      };
      if (!hold) {
        // A clean run lifts an earlier hold: whatever it held is judged afresh, here and in the next runs.
        await db('reconcile_holds').where({ state: 'held' }).update({ state: 'resolved' });
        return { differing, unknown, restored, held: null, missing: await missingIds(input.maxDeletions) };
      }

      const ids = await missingIds();
      const held = await db.transaction(async (trx) => {
        const existing = (await trx('reconcile_holds').where({ run_id: runId }).first('id')) as
          { id: string } | undefined;
        if (existing) return Number(existing.id); // a retried activity: the hold is already stored
        // One hold stands at a time: the newest, which an operator confirms.
        await trx('reconcile_holds').where({ state: 'held' }).update({ state: 'resolved' });
        const [row] = (await trx('reconcile_holds')
          .insert({
            run_id: runId,
            reason: hold.reason,
            account_ids: JSON.stringify(ids),
            count: ids.length,
            max_deletions: input.maxDeletions,
          })
          .returning('id')) as { id: string }[];
        const holdId = Number(row!.id);
        if (deps.backendEvents) {
          const event = { holdId, runId, reason: hold.reason, count: ids.length, maxDeletions: input.maxDeletions };
          await enqueueBackendEvents(trx, [reconcileHeldEvent(event)]);
        }
        return holdId;
      });
      log.warn('reconciliation held: nothing deleted', { reason: hold.reason, count: ids.length, holdId: held });
      return {
        differing,
        unknown,
        restored,
        held: { reason: hold.reason, count: ids.length, holdId: held },
        missing: [],
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
        await clearGoneMark(input.accountId);
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
        await clearGoneMark(input.accountId);
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

    /** Our accounts Unipile confirmed gone become DELETED through an event each (deleted_by 'reconcile'). */
    async deleteGoneAccounts(input: { accountIds: string[] }): Promise<number> {
      if (input.accountIds.length === 0) return 0;
      const rows = (await db('accounts')
        .whereIn('account_id', input.accountIds)
        .whereNot({ status: 'DELETED' })
        .select('account_id', 'account_type')) as { account_id: string; account_type: string | null }[];
      for (const row of rows) {
        await receiveEvents({ db, forwarding }, [
          statusEvent(
            { id: row.account_id, type: row.account_type ?? 'UNKNOWN', name: null, status: 'DELETED' },
            'DELETED',
          ),
        ]);
      }
      return rows.length;
    },

    /** Drops the run's staged listing (and any a crashed run left behind). */
    async endReconcileRun(input: { runId: string }): Promise<void> {
      await db('reconcile_listed')
        .where({ run_id: input.runId })
        .orWhere('listed_at', '<', db.raw(`now() - interval '1 day'`))
        .delete();
    },

    /**
     * Takes a hold an operator confirmed (held → confirmed; again on a retry or a continued run) and returns a slice
     * of its accounts; null when the hold is not there to apply (lifted by a clean run, applied already, or one that
     * cannot be confirmed: another workspace's listing).
     */
    async claimHold(input: { holdId: number; offset: number; limit: number }): Promise<{
      accountIds: string[];
      total: number;
    } | null> {
      const [row] = (await db('reconcile_holds')
        .where({ id: input.holdId })
        .whereIn('state', ['held', 'confirmed'])
        .whereNot({ reason: 'unknown_workspace' })
        .update({ state: 'confirmed', confirmed_at: db.raw('coalesce(confirmed_at, now())') })
        .returning('account_ids')) as { account_ids: string[] }[];
      if (!row) return null;
      return {
        accountIds: row.account_ids.slice(input.offset, input.offset + input.limit),
        total: row.account_ids.length,
      };
    },

    /** Marks a confirmed hold applied, with what it deleted and kept. */
    async finishHold(input: { holdId: number; deleted: number; kept: number }): Promise<void> {
      await db('reconcile_holds')
        .where({ id: input.holdId, state: 'confirmed' })
        .update({ state: 'applied', applied_at: db.fn.now(), deleted: input.deleted, kept: input.kept });
    },

    /**
     * Runs started before SPEC §11.1 call this after their listing. It no longer deletes anything: such a run's
     * "not seen since it started" mixed two clocks; the next run decides with Unipile's own answers.
     */
    async reconcileGoneAccounts(_input: { runStartedAt: string }): Promise<number> {
      log.warn('a reconciliation run from an earlier version finished; its deletions are left to the next run');
      return 0;
    },

    /**
     * Runs started before SPEC §11.1: one page, marked seen, differing and unknown accounts as events (as they did).
     */
    async reconcileAccountsPage(input: { accounts: ListedAccount[] }): Promise<{ differing: number; unknown: number }> {
      const ids = input.accounts.map((a) => a.id);
      if (ids.length === 0) return { differing: 0, unknown: 0 };
      const ours = new Map(
        (
          (await db('accounts')
            .whereIn('account_id', ids)
            .update({ seen_at: db.fn.now() }, ['account_id', 'status'])) as { account_id: string; status: string }[]
        ).map((r) => [r.account_id, r.status]),
      );
      let differing = 0;
      let unknown = 0;
      for (const account of input.accounts) {
        const status = ours.get(account.id);
        if (status === undefined) {
          unknown++;
          await adopt(account);
        } else if (status !== account.status && status !== 'DELETED' && account.status !== 'PENDING') {
          differing++;
          await receiveEvents({ db, forwarding }, [statusEvent(account, account.status)]);
        }
      }
      return { differing, unknown };
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
