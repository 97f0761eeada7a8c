import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { upsertAccount } from '../../accounts/repository';
import { enqueueBackendEvents, reconcileHeldEvent } from '../../backend-events/outbox';
import { receiveEvents, type InboundEvent } from '../../inbound/inbound-events';
import { accountWorkflowId } from '../../workflows/account/contract';
import type { ReconcileHold } from '../../workflows/reconcile/contract';
import { deletionLimit, type ListingFacts } from '../../workflows/reconcile/rules';
import type { ActivityDeps } from '../deps';
import type { ListedAccount } from '../unipile/reconcile';

type ReconcileDeps = Pick<ActivityDeps, 'db' | 'forwarding' | 'backendEvents' | 'graceMs' | 'maxDeletions'>;

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
 * Reconciliation's database side (a dropped webhook must not leave an account wrong forever), built so that it never
 * destroys what still exists. What it finds goes through the one way in, as `reconcile` events: the account workflows
 * act on them like on webhooks.
 */
export function createReconcileBookkeepingActivities(deps: ReconcileDeps) {
  const { db, forwarding } = deps;
  const graceMs = deps.graceMs ?? 0;
  const receive = (events: InboundEvent[]) => receiveEvents({ db, forwarding }, events);

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

  /**
   * Marks the listed accounts seen (and alive: any first 404 is forgotten), stores an event for each whose status
   * differs from ours, and restores each that reconciliation had deleted.
   */
  async function markListed(runId: string): Promise<{ differing: number; restored: number }> {
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
        await receive([statusEvent(account, row.listed === 'PENDING' ? 'CONNECTING' : row.listed)]);
      } else if (row.status !== row.listed && row.listed !== 'PENDING') {
        differing++;
        await receive([statusEvent(account, row.listed)]);
      }
    }
    return { differing, restored };
  }

  /** Adopts the accounts the listing shows and we have no row for; returns how many. */
  async function adoptStrangers(runId: string): Promise<number> {
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
    for (const s of strangers) await adopt({ id: s.account_id, type: s.account_type, name: s.name, status: s.status });
    return strangers.length;
  }

  /** Stores the run's hold over the missing accounts (once, whatever the retries) and returns its id. */
  async function storeHold(
    runId: string,
    hold: Pick<ReconcileHold, 'reason' | 'count'>,
    ids: string[],
    maxDeletions: number,
  ): Promise<number> {
    return db.transaction(async (trx) => {
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
          max_deletions: maxDeletions,
        })
        .returning('id')) as { id: string }[];
      const holdId = Number(row!.id);
      if (deps.backendEvents) {
        const event = { holdId, runId, reason: hold.reason, count: ids.length, maxDeletions };
        await enqueueBackendEvents(trx, [reconcileHeldEvent(event)]);
      }
      return holdId;
    });
  }

  return {
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
      const { differing, restored } = await markListed(runId);
      const unknown = hold?.reason !== 'unknown_workspace' ? await adoptStrangers(runId) : 0;

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
      const holdId = await storeHold(runId, hold, ids, input.maxDeletions);
      log.warn('reconciliation held: nothing deleted', { reason: hold.reason, count: ids.length, holdId });
      return { differing, unknown, restored, held: { reason: hold.reason, count: ids.length, holdId }, missing: [] };
    },

    /** Our accounts Unipile confirmed gone become DELETED through an event each (deleted_by 'reconcile'). */
    async deleteGoneAccounts(input: { accountIds: string[] }): Promise<number> {
      if (input.accountIds.length === 0) return 0;
      const rows = (await db('accounts')
        .whereIn('account_id', input.accountIds)
        .whereNot({ status: 'DELETED' })
        .select('account_id', 'account_type')) as { account_id: string; account_type: string | null }[];
      for (const row of rows) {
        await receive([
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

    ...legacyReconcileActivities(db, adopt, receive),
  };
}

/**
 * What runs started before reconciliation asked Unipile about each missing account still call. They judged "not
 * seen since the run started" against two clocks, so they no longer delete anything.
 */
function legacyReconcileActivities(
  db: Knex,
  adopt: (account: ListedAccount) => Promise<void>,
  receive: (events: InboundEvent[]) => Promise<unknown>,
) {
  return {
    /** Called after such a run's listing; the next run decides with Unipile's own answers. */
    async reconcileGoneAccounts(_input: { runStartedAt: string }): Promise<number> {
      log.warn('a reconciliation run from an earlier version finished; its deletions are left to the next run');
      return 0;
    },

    /** One page, marked seen, differing and unknown accounts as events (as such runs did). */
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
          await receive([statusEvent(account, account.status)]);
        }
      }
      return { differing, unknown };
    },
  };
}
