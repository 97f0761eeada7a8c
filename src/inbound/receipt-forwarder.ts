// Delivers stored receipts to account workflows: right after they are stored (the common case), and from a sweep
// that catches whatever could not be delivered then (Temporal down, a crash, another process that died).
//
// Order and exclusivity: only the oldest pending receipt of an account (its head) can be claimed, and a claim is
// a lease written with a conditional UPDATE, so two processes never forward the same receipt and an account's
// receipts go out one at a time, in order. Different accounts are forwarded in parallel.
import { isGrpcServiceError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { hostname } from 'node:os';
import type { Config } from '../platform/config';
import { isEmbedded } from '../platform/db';
import type { Logger } from '../platform/logger';
import { appendApiEvent } from '../accounts/repository';
import { signalAccount, type AccountSettings } from '../platform/temporal-client';
import { classifyMessage, initialState } from '../workflows/account/state';
import type { AccountState, StatusEvent } from '../workflows/account/contract';
import { receiptSchema, type Forwarding, type InboundEvent } from './inbound-events';
import { ReceiptListener } from './receipt-notifications';

export interface ReceiptRow {
  id: string | number;
  source: string;
  account_id: string;
  message: string | null;
  payload: unknown;
  received_at: Date;
  forward_attempts: number;
  /** The account row as the claim found it (null when no row exists yet). */
  account_type: string | null;
  user_id: string | null;
  account_status: string | null;
  /** Who made the account DELETED (reconcile | unipile | api); only a reconciliation deletion can be undone. */
  deleted_by: string | null;
}

export interface ForwarderMetrics {
  forwarded(outcome: string, lagSeconds: number): void;
  failed(kind: 'transient' | 'permanent'): void;
  dead(): void;
}

export interface ForwarderOptions {
  /** Names this process in `claimed_by` (operators can see who holds a lease). */
  owner: string;
  /** How long a claim holds; longer than one forward (5 s deadline) so a live lease is never taken over. */
  leaseMs: number;
  /** How often the sweep looks for receipts that were not delivered when stored (0: never). */
  sweepIntervalMs: number;
  /** Accounts forwarded at once by this process. */
  concurrency: number;
  /** Permanent failures (Temporal refuses the request) a receipt may have before it is parked as dead. */
  maxAttempts: number;
  /** Backoff ceiling between two tries of one receipt. */
  maxRetryDelayMs: number;
  /** Forwarded receipts older than this are deleted by the sweep (0: kept forever). */
  retentionMs: number;
  /** Where to LISTEN for receipts other processes store (unset: only what this process stores, and the sweep). */
  listenUrl?: string;
}

/** A claim outlives one forward (5 s deadline) several times over; a dead process's claims lapse. */
const LEASE_MS = 30_000;

/**
 * The processes that hold the forwarding role (FORWARDER_PLACEMENT). The embedded database lives in one process
 * that runs the API and the worker together and cannot be listened to from another connection: the API forwards.
 */
export function forwarderPlacement(config: Config): 'api' | 'worker' {
  return isEmbedded(config.DATABASE_URL) ? 'api' : config.FORWARDER_PLACEMENT;
}

/**
 * Options from configuration. The processes that hold the forwarding role (FORWARDER_PLACEMENT) listen for stored
 * receipts, sweep and forward many accounts at once; a worker without the role forwards only the few events it stores
 * itself (the API without it only notifies: see ReceiptNotifier).
 */
export function forwarderOptions(config: Config, role: 'api' | 'worker'): ForwarderOptions {
  const holdsRole = forwarderPlacement(config) === role;
  return {
    owner: `${role}@${hostname()}:${process.pid}`,
    leaseMs: LEASE_MS,
    sweepIntervalMs: holdsRole ? config.INBOX_RELAY_INTERVAL : 0,
    concurrency: holdsRole ? config.FORWARD_CONCURRENCY : 8,
    maxAttempts: config.RECEIPT_MAX_ATTEMPTS,
    maxRetryDelayMs: config.RECEIPT_RETRY_MAX_DELAY,
    retentionMs: holdsRole ? config.RECEIPT_RETENTION : 0,
    ...(holdsRole && !isEmbedded(config.DATABASE_URL) ? { listenUrl: config.DATABASE_URL } : {}),
  };
}

export interface ForwarderDeps {
  db: Knex;
  temporal: Client;
  settings: AccountSettings;
  logger: Logger;
  metrics?: ForwarderMetrics;
}

export type ForwardOutcome = 'signalled' | 'ignored_deleted' | 'no_action';

// gRPC status codes that mean "this request will never succeed as it is" rather than "try again later".
const PERMANENT_GRPC_CODES = new Set([3 /* INVALID_ARGUMENT */, 9 /* FAILED_PRECONDITION */, 11 /* OUT_OF_RANGE */]);

/** Whether Temporal answered that this request can never succeed as it is. */
function refusedForGood(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (!isGrpcServiceError(e)) continue;
    // RESOURCE_EXHAUSTED is a rate limit (transient) unless the message itself is over gRPC's size limit.
    return PERMANENT_GRPC_CODES.has(e.code) || (e.code === 8 && /larger than max/.test(e.details));
  }
  return false;
}

/** Deletes up to `batch` forwarded receipts received more than `retentionMs` ago; returns how many. */
export async function pruneForwardedReceipts(db: Knex, retentionMs: number, batch = 5000): Promise<number> {
  const { rowCount } = await db.raw<{ rowCount: number }>(
    `delete from webhook_receipts where id in (
       select id from webhook_receipts
       where state = 'forwarded' and received_at < now() - (? * interval '1 millisecond')
       order by id limit ?)`,
    [retentionMs, batch],
  );
  return rowCount ?? 0;
}

/** Writes who deleted the account (reconcile | unipile | api), by where its DELETED event came from. */
async function markDeletedBy(db: Knex, accountId: string, source: string): Promise<void> {
  const by = source === 'reconcile' ? 'reconcile' : source === 'api' ? 'api' : 'unipile';
  await db('accounts').where({ account_id: accountId }).update({ deleted_by: by });
}

function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}

export class ReceiptForwarder implements Forwarding {
  private readonly draining = new Map<string, { again: boolean }>();
  private readonly waiting = new Set<string>();
  private readonly idle = new Set<() => void>();
  private timer?: NodeJS.Timeout;
  private watch?: NodeJS.Timeout;
  private listener?: ReceiptListener;
  private sweeping?: Promise<void>;
  private stopped = true;
  private lastPrune = 0;

  constructor(
    private readonly deps: ForwarderDeps,
    private readonly options: ForwarderOptions,
  ) {}

  /**
   * Forwards from now on; listens for receipts other processes store (`listenUrl`) and sweeps every
   * `sweepIntervalMs` (0: only what this process stores, as in a worker without the role). `alive`, when given, is
   * asked every second: once false the forwarder stops itself (it runs beside a worker that shut down), so that its
   * timer and listening connection do not keep the process up.
   */
  start(alive?: () => boolean): void {
    this.stopped = false;
    const { listenUrl } = this.options;
    if (listenUrl) {
      this.listener = new ReceiptListener({
        databaseUrl: listenUrl,
        logger: this.deps.logger,
        onAccount: (accountId) => this.kick(accountId),
        onResumed: () => this.sweep(),
      });
      this.listener.start();
    }
    if (alive) {
      this.watch = setInterval(() => {
        if (!alive()) void this.stop();
      }, 1000);
      this.watch.unref();
    }
    if (this.options.sweepIntervalMs <= 0) return;
    this.timer = setInterval(() => this.sweep(), this.options.sweepIntervalMs);
    this.sweep();
  }

  /** Stops listening and sweeping and waits for the forwards in flight; what is left stays stored for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.watch);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.stop();
    this.waiting.clear();
    await this.sweeping;
    if (this.draining.size > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
  }

  kick(accountId: string): void {
    if (this.stopped) return;
    const current = this.draining.get(accountId);
    if (current) {
      current.again = true;
      return;
    }
    if (this.draining.size >= this.options.concurrency) {
      this.waiting.add(accountId);
      return;
    }
    this.drain(accountId);
  }

  /** Kicks every account whose head receipt is due and not leased (a sweep). */
  sweep(): void {
    if (this.stopped || this.sweeping) return;
    this.sweeping = this.dueAccounts(1000)
      .then((accounts) => accounts.forEach((a) => this.kick(a)))
      .then(() => this.pruneIfDue())
      .catch((err: unknown) => this.deps.logger.warn({ err: errorMessage(err) }, 'receipt sweep failed'))
      .finally(() => (this.sweeping = undefined));
  }

  /**
   * Deletes forwarded receipts past their retention, a batch at a time and at most once a minute (or once per
   * retention period when that is shorter), so the table does not grow forever. Dead and pending ones stay.
   */
  private async pruneIfDue(): Promise<void> {
    const { retentionMs } = this.options;
    if (retentionMs <= 0 || Date.now() - this.lastPrune < Math.min(60_000, retentionMs)) return;
    this.lastPrune = Date.now();
    const deleted = await pruneForwardedReceipts(this.deps.db, retentionMs);
    if (deleted > 0) this.deps.logger.info({ deleted, retentionMs }, 'forwarded receipts past retention deleted');
  }

  /** Accounts with a pending head receipt that is due and unclaimed. */
  async dueAccounts(limit: number): Promise<string[]> {
    const { rows } = await this.deps.db.raw<{ rows: { account_id: string }[] }>(
      `select account_id from (
         select distinct on (account_id) account_id, next_attempt_at, claimed_until
         from webhook_receipts where state = 'pending' order by account_id, id
       ) heads
       where next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
       limit ?`,
      [limit],
    );
    return rows.map((r) => r.account_id);
  }

  private drain(accountId: string): void {
    const entry = { again: false };
    this.draining.set(accountId, entry);
    const run = async (): Promise<void> => {
      do {
        entry.again = false;
        try {
          await this.forwardAccount(accountId);
        } catch (err) {
          // The database is unreachable, say: the receipts stay stored and the sweep comes back to them.
          this.deps.logger.warn({ accountId, err: errorMessage(err) }, 'forwarding paused for this account');
          return;
        }
      } while (entry.again && !this.stopped);
    };
    void run().finally(() => {
      this.draining.delete(accountId);
      const next = this.waiting.values().next();
      if (!next.done) {
        this.waiting.delete(next.value);
        this.kick(next.value);
      }
      if (this.draining.size === 0) {
        for (const resolve of this.idle) resolve();
        this.idle.clear();
      }
    });
  }

  /** Forwards the account's pending receipts in order until none is due or one fails. */
  async forwardAccount(accountId: string): Promise<number> {
    let forwarded = 0;
    while (!this.stopped) {
      const receipt = await this.claimHead(accountId);
      if (!receipt) break;
      if (!(await this.forwardClaimed(receipt))) break;
      forwarded++;
    }
    return forwarded;
  }

  private async claimHead(accountId: string): Promise<ReceiptRow | undefined> {
    const { rows } = await this.deps.db.raw<{ rows: ReceiptRow[] }>(
      // One round trip claims the head and reads the account row the delivery needs.
      `with claimed as (
         update webhook_receipts r
           set claimed_until = now() + (? * interval '1 millisecond'), claimed_by = ?
         where r.id = (select id from webhook_receipts
                       where account_id = ? and state = 'pending' order by id limit 1)
           and r.state = 'pending' and r.next_attempt_at <= now()
           and (r.claimed_until is null or r.claimed_until < now())
         returning r.*
       )
       select claimed.*, a.account_type, a.user_id, a.status as account_status, a.deleted_by
       from claimed left join accounts a on a.account_id = claimed.account_id`,
      [this.options.leaseMs, this.options.owner, accountId],
    );
    return rows[0];
  }

  /** Delivers one claimed receipt; true when done with it (forwarded or parked), false to stop this account. */
  private async forwardClaimed(row: ReceiptRow): Promise<boolean> {
    const { db, logger, metrics } = this.deps;
    const parsed = receiptSchema.safeParse({ source: row.source, accountId: row.account_id, payload: row.payload });
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      await this.park(row, `invalid stored receipt: ${problems}`);
      return true;
    }
    try {
      const outcome = await this.deliver(parsed.data, row);
      await db('webhook_receipts')
        .where({ id: row.id })
        .update({ state: 'forwarded', forwarded_at: db.fn.now(), outcome, claimed_until: null });
      metrics?.forwarded(outcome, (Date.now() - new Date(row.received_at).getTime()) / 1000);
      return true;
    } catch (err) {
      const attempts = row.forward_attempts + 1;
      const permanent = refusedForGood(err);
      metrics?.failed(permanent ? 'permanent' : 'transient');
      if (permanent && attempts >= this.options.maxAttempts) {
        await this.park(row, errorMessage(err), attempts);
        return true;
      }
      // Temporal unreachable (or refusing): try this receipt again later, and keep the account's order meanwhile.
      const delay = Math.min(this.options.maxRetryDelayMs, 500 * 2 ** Math.min(attempts - 1, 16));
      await db('webhook_receipts')
        .where({ id: row.id })
        .update({
          forward_attempts: attempts,
          last_error: errorMessage(err),
          claimed_until: null,
          next_attempt_at: db.raw(`now() + (? * interval '1 millisecond')`, [delay]),
        });
      logger.warn(
        { receiptId: Number(row.id), accountId: row.account_id, attempts, err: errorMessage(err) },
        'could not forward a receipt; will retry',
      );
      return false;
    }
  }

  /** Parks a receipt that can never be delivered, so the account's later events flow. */
  private async park(row: ReceiptRow, reason: string, attempts = row.forward_attempts + 1): Promise<void> {
    await this.deps
      .db('webhook_receipts')
      .where({ id: row.id })
      .update({ state: 'dead', forward_attempts: attempts, last_error: reason.slice(0, 500), claimed_until: null });
    this.deps.metrics?.dead();
    this.deps.logger.error(
      { receiptId: Number(row.id), accountId: row.account_id, reason },
      'receipt parked as dead; replay it with POST /api/receipts/:id/replay',
    );
  }

  /**
   * Starts a new run for an account reconciliation deleted, from a state that goes on where the deleted run ended
   * (journal and incident numbers, so its history and emails are not taken for repeats) and records
   * `account_restored` first; the event then moves it out of DELETED. Until that run writes the row, later events
   * come here too and are simply signalled to it.
   */
  private async restore(source: string, status: StatusEvent, row: ReceiptRow): Promise<ForwardOutcome> {
    const { db, temporal, settings } = this.deps;
    const accountId = row.account_id;
    const { rows } = await db.raw<{ rows: { seq: number | null; incident: number | null }[] }>(
      `select (select max(seq) from account_events where account_id = ?) as seq,
              greatest((select max((data->>'incidentId')::int) from account_events
                        where account_id = ? and type = 'incident_opened'),
                       (select max(incident_id) from email_log where account_id = ?)) as incident`,
      [accountId, accountId, accountId],
    );
    const journalSeq = Number(rows[0]?.seq ?? 0) + 1;
    const base = initialState({ accountId, provider: row.account_type ?? status.accountType, userId: row.user_id });
    const state: AccountState = {
      ...base,
      status: 'DELETED',
      incidentCount: Number(rows[0]?.incident ?? 0),
      journalSeq,
      journal: [
        {
          seq: journalSeq,
          type: 'account_restored',
          at: new Date().toISOString(),
          data: { by: source === 'reconcile' ? 'listing' : 'webhook', message: status.message, deletedBy: 'reconcile' },
        },
      ],
    };
    const hints = { provider: row.account_type ?? status.accountType, userId: row.user_id };
    const result = await signalAccount(temporal, settings, accountId, { status }, hints, state);
    this.deps.logger.info({ accountId, by: source }, 'account deleted by reconciliation restored');
    return result === 'signalled' ? 'signalled' : 'ignored_deleted';
  }

  private async deliver(event: InboundEvent, row: ReceiptRow): Promise<ForwardOutcome> {
    const { db, temporal, settings } = this.deps;
    const { accountId } = event;
    const hints = { provider: row.account_type, userId: row.user_id };
    const signalled = (result: string): ForwardOutcome => (result === 'signalled' ? 'signalled' : 'ignored_deleted');

    switch (event.source) {
      case 'hosted_auth':
      case 'cookie_connection':
      case 'custom_auth': {
        const { cookie, ...link } = event.payload;
        const linked = { userId: link.userId, provider: link.provider, ...(link.name ? { name: link.name } : {}) };
        const result = await signalAccount(temporal, settings, accountId, { linked }, { ...hints, ...linked, cookie });
        return signalled(result);
      }
      case 'extension_cookie': {
        const cookie = event.payload;
        return signalled(await signalAccount(temporal, settings, accountId, { cookie }, { ...hints, cookie }));
      }
      case 'account_status':
      case 'api':
      case 'reconcile': {
        const { message, account_type: accountType } = event.payload.AccountStatus;
        const receiptId = Number(row.id);
        if (classifyMessage(message) === 'other') {
          // Recorded verbatim in the receipt and the history; no workflow needs waking for it.
          await appendApiEvent(db, accountId, 'event_ignored', { message, reason: 'unknown', receiptId });
          return 'no_action';
        }
        const status = { message, accountType, receiptId, receivedAt: new Date(row.received_at).toISOString() };
        const deletion = classifyMessage(message) === 'deleted';
        if (row.account_status === 'DELETED') {
          // Unipile reports alive an account that only reconciliation thought gone: it comes back.
          if (row.deleted_by === 'reconcile' && !deletion) return this.restore(event.source, status, row);
          // Unipile's own DELETED (or ours through the API) after a reconciliation deletion makes it final.
          if (deletion && row.deleted_by === 'reconcile' && event.source !== 'reconcile') {
            await markDeletedBy(db, accountId, event.source);
          }
          await appendApiEvent(db, accountId, 'event_ignored', { message, reason: 'deleted', receiptId });
          return 'ignored_deleted';
        }
        // Who deletes is written before the workflow hears of it, so the row is never DELETED without it.
        if (deletion) await markDeletedBy(db, accountId, event.source);
        const result = await signalAccount(
          temporal,
          settings,
          accountId,
          { status },
          { provider: hints.provider ?? accountType, userId: hints.userId },
        );
        if (result === 'workflow_closed') {
          // The run completed between the claim and the signal: a reconciliation deletion is undone all the same.
          const now = await db('accounts').where({ account_id: accountId }).first('status', 'deleted_by');
          if (!deletion && now?.status === 'DELETED' && now.deleted_by === 'reconcile') {
            return this.restore(event.source, status, { ...row, account_status: 'DELETED', deleted_by: 'reconcile' });
          }
          await appendApiEvent(db, accountId, 'event_ignored', { message, reason: 'deleted', receiptId });
          return 'ignored_deleted';
        }
        return 'signalled';
      }
    }
  }
}
