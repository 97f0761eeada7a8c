// Stored events that could not be delivered (dead) or are still waiting (pending), for operators; and putting a
// dead one back in its queue once the cause is fixed.
import type { Knex } from 'knex';
import { appendApiEvent } from '../../accounts/repository';
import { HttpError } from '../http/errors';
import { defineRoute, type Route } from '../http/route';
import { receiptParams, receiptsAnswer, receiptsQuery, replayedAnswer, staleAnswer } from './schemas';

/** Receipts that carry an account status (Unipile's webhook, a deletion through our API, a reconciliation). */
const STATUS_SOURCES = ['account_status', 'api', 'reconcile'];

/**
 * Whether a dead status receipt was overtaken: a newer status receipt of its account was applied already, or is
 * being forwarded now (claimed). Receipts are numbered in arrival order, so "newer" is a higher id. One still
 * pending and unclaimed is not counted: the replayed receipt goes out before it, in order.
 */
async function overtaken(db: Knex, row: { id: string | number; source: string; account_id: string | null }) {
  if (!row.account_id || !STATUS_SOURCES.includes(row.source)) return false;
  const newer = await db('webhook_receipts')
    .where({ account_id: row.account_id })
    .whereIn('source', STATUS_SOURCES)
    .where('id', '>', row.id)
    .where((q) =>
      q
        // Forwarded and applied: an unknown message (no_action) or another stale replay changed nothing.
        .where((f) => f.where({ state: 'forwarded' }).whereRaw(`coalesce(outcome, '') not in ('no_action', 'stale')`))
        .orWhere((p) => p.where({ state: 'pending' }).where('claimed_until', '>', db.fn.now())),
    )
    .first('id');
  return newer !== undefined;
}

interface ReceiptRow {
  id: string;
  source: string;
  account_id: string | null;
  message: string | null;
  received_at: Date;
  forward_attempts: number;
  last_error: string | null;
  state: string;
}

const listReceipts = defineRoute({
  method: 'get',
  path: '/api/receipts',
  audience: 'backend',
  auth: 'backendToken',
  summary: 'Stored events by state',
  query: receiptsQuery,
  responses: { 200: receiptsAnswer },
  errors: [],
  async handler({ query: q }, { deps: { db } }) {
    const query = db('webhook_receipts')
      .where({ state: q.state })
      .orderBy('id', 'desc')
      .limit(q.limit + 1)
      .select('id', 'source', 'account_id', 'message', 'received_at', 'forward_attempts', 'last_error', 'state');
    if (q.before) void query.where('id', '<', q.before);
    const rows = (await query) as ReceiptRow[];
    const page = rows.slice(0, q.limit);
    return {
      status: 200,
      body: {
        items: page.map((r) => ({
          id: Number(r.id),
          source: r.source,
          accountId: r.account_id,
          message: r.message,
          state: r.state,
          receivedAt: r.received_at,
          attempts: r.forward_attempts,
          lastError: r.last_error,
        })),
        nextCursor: rows.length > q.limit ? Number(page[page.length - 1]!.id) : null,
      },
    };
  },
});

const replayReceipt = defineRoute({
  method: 'post',
  path: '/api/receipts/:receiptId/replay',
  audience: 'backend',
  auth: 'backendToken',
  summary:
    'Put a dead receipt back in its queue (202); a status receipt overtaken by a newer applied one is recorded as stale, not applied (200, outcome "stale")',
  params: receiptParams,
  responses: { 202: replayedAnswer, 200: staleAnswer },
  errors: [404, 409],
  async handler({ params: { receiptId } }, { deps }) {
    const { db } = deps;
    const row = await db('webhook_receipts').where({ id: receiptId }).first();
    if (!row) throw new HttpError(404, 'not_found', `No receipt ${receiptId}`);
    if (row.state !== 'dead') throw new HttpError(409, 'not_dead', `Receipt ${receiptId} is ${row.state}, not dead`);
    if (await overtaken(db, row)) {
      // A newer status already reached the account: applying this one now would undo it (a stale CREDENTIALS
      // reopening an incident, a stale DELETED ending a live account). Recorded as handled, not applied.
      const marked = await db('webhook_receipts')
        .where({ id: receiptId, state: 'dead' })
        .update({ state: 'forwarded', outcome: 'stale', forwarded_at: db.fn.now(), claimed_until: null });
      if (marked === 0) throw new HttpError(409, 'not_dead', `Receipt ${receiptId} is no longer dead`);
      await appendApiEvent(db, row.account_id, 'event_ignored', { message: row.message, reason: 'stale', receiptId });
      return { status: 200, body: { id: receiptId, state: 'forwarded', outcome: 'stale' } as const };
    }
    await db('webhook_receipts')
      .where({ id: receiptId, state: 'dead' })
      .update({ state: 'pending', forward_attempts: 0, next_attempt_at: db.fn.now(), claimed_until: null });
    if (row.account_id) deps.forwarder.kick(row.account_id);
    return { status: 202, body: { id: receiptId, state: 'pending' } as const };
  },
});

export const receiptRoutes: Route[] = [listReceipts, replayReceipt];
