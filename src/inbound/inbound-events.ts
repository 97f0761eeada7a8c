// One way in for every kind of event that concerns an account: Unipile's status webhooks, hosted-auth callbacks,
// local deletions, extension cookies and finished cookie connections. Each is stored as a receipt first (so it
// survives any crash or Temporal outage), then handed to the forwarder, which delivers it to the account workflow.
import type { Knex } from 'knex';
import { z } from 'zod';
import { accountIdSchema } from '../platform/ids';

const cookieUpdate = z.object({ fingerprint: z.string().min(1), at: z.string().min(1) });

const statusPayload = z.object({
  AccountStatus: z.object({
    account_id: accountIdSchema,
    account_type: z.string().min(1),
    message: z.string().min(1),
  }),
});

const linkedPayload = z.object({
  userId: z.string().min(1),
  provider: z.string().min(1),
  name: z.string().nullish(),
  /** Set when the account was connected from extension cookies: the workflow starts knowing them. */
  cookie: cookieUpdate.optional(),
});

/** Stored receipts, by source. Rows are parsed with this schema when forwarded, never cast. */
export const receiptSchema = z.discriminatedUnion('source', [
  // Unipile's account_status webhook, a deletion made through our API (same shape, message DELETED), and a status
  // found different from ours by the reconciliation with Unipile's account list.
  z.object({
    source: z.enum(['account_status', 'api', 'reconcile']),
    accountId: accountIdSchema,
    payload: statusPayload,
  }),
  // The account now belongs to one of our users: hosted-auth callback, a finished cookie connection, or a finished
  // custom-authentication connection.
  z.object({
    source: z.enum(['hosted_auth', 'cookie_connection', 'custom_auth']),
    accountId: accountIdSchema,
    payload: linkedPayload,
  }),
  z.object({ source: z.literal('extension_cookie'), accountId: accountIdSchema, payload: cookieUpdate }),
]);

export type InboundEvent = z.infer<typeof receiptSchema>;
export type ReceiptSource = InboundEvent['source'];

/** The `message` column: the Unipile status for status events, a short label otherwise (for operators). */
function messageOf(event: InboundEvent, callbackStatus?: string): string {
  switch (event.source) {
    case 'account_status':
    case 'api':
    case 'reconcile':
      return event.payload.AccountStatus.message;
    case 'extension_cookie':
      return 'COOKIE';
    case 'hosted_auth':
      return callbackStatus ?? 'LINKED';
    case 'cookie_connection':
    case 'custom_auth':
      return 'LINKED';
  }
}

/** Inserts receipts (inside the caller's transaction when given one) and returns their ids, in order. */
export async function insertReceipts(
  db: Knex,
  events: (InboundEvent & { callbackStatus?: string })[],
): Promise<number[]> {
  if (events.length === 0) return [];
  const rows = events.map((e) => ({
    source: e.source,
    account_id: e.accountId,
    message: messageOf(e, e.callbackStatus),
    payload: JSON.stringify(e.payload),
  }));
  const inserted = (await db('webhook_receipts').insert(rows).returning('id')) as { id: string | number }[];
  return inserted.map((r) => Number(r.id));
}

export interface Forwarding {
  /** Asks for the account's pending receipts to be forwarded now (in the background). */
  kick(accountId: string): void;
}

/**
 * Stores events and hands them to forwarding. `alongside` writes other rows in the same transaction (the account
 * row a callback creates, say), so an event is never stored without them nor they without the event.
 */
export async function receiveEvents(
  deps: { db: Knex; forwarding: Forwarding },
  events: (InboundEvent & { callbackStatus?: string })[],
  alongside?: (trx: Knex.Transaction) => Promise<void>,
): Promise<number[]> {
  // A lone insert is atomic by itself; a transaction costs two more round trips on the hot path.
  const ids = alongside
    ? await deps.db.transaction(async (trx) => {
        await alongside(trx);
        return insertReceipts(trx, events);
      })
    : await insertReceipts(deps.db, events);
  for (const accountId of new Set(events.map((e) => e.accountId))) deps.forwarding.kick(accountId);
  return ids;
}
