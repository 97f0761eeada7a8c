// Events for the customer's backend, derived from what the account workflow journals and written to
// the `backend_events` outbox in the same transaction as the account's history, so none is lost or invented.
import type { Knex } from 'knex';
import type { JournalEntry } from '../workflows/account/contract';

export type BackendEventType =
  | 'account.connected'
  | 'account.status_changed'
  | 'account.recovery_changed'
  | 'account.checkpoint_required'
  | 'account.email_sent'
  | 'account.deleted'
  | 'account.restored'
  | 'reconcile.held'
  | 'provider.incident_opened'
  | 'provider.incident_closed';

export interface BackendEvent {
  /** Stable: the same event written again (a retried activity) keeps its id, so receivers can drop repeats. */
  eventId: string;
  accountId: string;
  type: BackendEventType;
  occurredAt: string;
  data: Record<string, unknown>;
}

export interface AccountSnapshot {
  accountId: string;
  userId: string | null;
  provider: string | null;
  status: string;
  recovery: string;
}

/** The events a batch of journal entries means to a backend, plus a recovery change when there is one. */
export function eventsFromJournal(
  account: AccountSnapshot,
  entries: JournalEntry[],
  previousRecovery: string | null,
): BackendEvent[] {
  const base = {
    accountId: account.accountId,
    userId: account.userId,
    provider: account.provider,
    status: account.status,
    recovery: account.recovery,
  };
  const events: BackendEvent[] = [];
  const add = (entry: JournalEntry, type: BackendEventType, extra: Record<string, unknown>) =>
    events.push({
      eventId: `${account.accountId}.${entry.seq}.${type}`,
      accountId: account.accountId,
      type,
      occurredAt: entry.at,
      data: { ...base, ...extra },
    });
  for (const entry of entries) {
    const d = entry.data;
    if (entry.type === 'status_changed') {
      // The first time a new account is up: it is connected (later OKs are recoveries, told as status changes).
      if (d.from === 'PENDING' && d.to === 'OK') add(entry, 'account.connected', {});
      add(entry, 'account.status_changed', { from: d.from, to: d.to, message: d.message });
      if (d.to === 'DELETED') add(entry, 'account.deleted', {});
    }
    // A reconciliation deletion undone because Unipile reports the account alive.
    if (entry.type === 'account_restored') add(entry, 'account.restored', { by: d.by });
    if (entry.type === 'email' && d.outcome === 'sent') add(entry, 'account.email_sent', { kind: d.kind, seq: d.seq });
  }
  const last = entries[entries.length - 1];
  if (last && previousRecovery !== null && previousRecovery !== account.recovery) {
    add(last, 'account.recovery_changed', { from: previousRecovery, to: account.recovery });
  }
  return events;
}

/** A cookie connection waits for a code: the id the checkpoint is answered with, its type and deadline. */
export function checkpointRequiredEvent(c: {
  accountId: string;
  type: string;
  expiresAt?: string;
  userId: string;
  memberId: string;
}): BackendEvent {
  return {
    eventId: `${c.accountId}.checkpoint.${c.expiresAt ?? c.type}`,
    accountId: c.accountId,
    type: 'account.checkpoint_required',
    occurredAt: new Date().toISOString(),
    data: {
      accountId: c.accountId,
      userId: c.userId,
      provider: 'LINKEDIN',
      status: 'CHECKPOINT',
      recovery: 'CHECKPOINT',
      memberId: c.memberId,
      checkpoint: { type: c.type, expiresAt: c.expiresAt ?? null },
    },
  };
}

/** Orders reconciliation events among themselves in the outbox (never an account id: `~` is outside their set). */
export const RECONCILE_EVENTS_KEY = '~reconcile';

/** A reconciliation run held its deletions: how many accounts, why, and the hold an operator confirms. */
export function reconcileHeldEvent(h: {
  holdId: number;
  runId: string;
  reason: string;
  count: number;
  maxDeletions: number;
}): BackendEvent {
  return {
    eventId: `reconcile.${h.runId}.held`,
    accountId: RECONCILE_EVENTS_KEY,
    type: 'reconcile.held',
    occurredAt: new Date().toISOString(),
    data: { holdId: h.holdId, reason: h.reason, count: h.count, maxDeletions: h.maxDeletions },
  };
}

/** Orders provider incident events among themselves in the outbox (never an account id: `~` is outside their set). */
export const PROVIDER_EVENTS_KEY = '~providers';

/** Many accounts of one provider broke at once (or an operator said so): emails to its users are held. */
export function providerIncidentOpenedEvent(i: {
  id: number;
  provider: string;
  openedBy: string;
  reason: string;
  at: string;
  details: object;
}): BackendEvent {
  return {
    eventId: `provider.${i.id}.opened`,
    accountId: PROVIDER_EVENTS_KEY,
    type: 'provider.incident_opened',
    occurredAt: i.at,
    data: { incidentId: i.id, provider: i.provider, openedBy: i.openedBy, reason: i.reason, ...i.details },
  };
}

/** A provider incident is over: the held emails are judged again (still-broken accounts get theirs). */
export function providerIncidentClosedEvent(i: {
  id: number;
  provider: string;
  openedAt: string;
  openedBy: string;
  closedBy: string;
  reason: string;
  at: string;
  heldEmails: number;
}): BackendEvent {
  return {
    eventId: `provider.${i.id}.closed`,
    accountId: PROVIDER_EVENTS_KEY,
    type: 'provider.incident_closed',
    occurredAt: i.at,
    data: {
      incidentId: i.id,
      provider: i.provider,
      openedAt: i.openedAt,
      openedBy: i.openedBy,
      closedBy: i.closedBy,
      reason: i.reason,
      heldEmails: i.heldEmails,
    },
  };
}

/** Writes events to the outbox (inside the caller's transaction); an event already written is left as it is. */
export async function enqueueBackendEvents(db: Knex, events: BackendEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db('backend_events')
    .insert(
      events.map((e) => ({
        event_id: e.eventId,
        account_id: e.accountId,
        type: e.type,
        data: JSON.stringify(e.data),
        occurred_at: e.occurredAt,
      })),
    )
    .onConflict('event_id')
    .ignore();
}
