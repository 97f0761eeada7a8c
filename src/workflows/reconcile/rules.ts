// The rules that keep reconciliation from destroying accounts (a suspicious listing is held for an operator, never
// acted on), as plain functions: no I/O, no clock, safe in the workflow sandbox and tested directly
// (test/unit/reconcile-rules.test.ts).
import type { ReconcileHold, ReconcileHoldReason } from './contract';

/** What a complete listing showed, counted by the database once every page is staged. */
export interface ListingFacts {
  /** Accounts the listing held. */
  listed: number;
  /** Of those, accounts we had seen listed before (any status). */
  knownListed: number;
  /** Our accounts (not DELETED) seen listed before this run. */
  seenBefore: number;
  /** Our accounts (not DELETED) this listing does not show, and that are not too new to be listed. */
  missing: number;
  /** How many deletions one run may make (RECONCILE_MAX_DELETIONS or its default). */
  maxDeletions: number;
}

/** RECONCILE_MAX_DELETIONS when set; otherwise 10 or 1 % of the accounts, whichever is larger. */
export function deletionLimit(configured: number | undefined, accounts: number): number {
  return configured ?? Math.max(10, Math.floor(accounts / 100));
}

/**
 * Whether a run must hold its deletions for an operator. A listing that shows none of the accounts we have seen
 * listed before is another workspace's (a wrong API key), whose GETs answer 404 for ours too: nothing it says
 * counts. More accounts missing than the limit is more likely a broken listing than that many lost webhooks: none
 * is checked or deleted.
 */
export function holdFor(facts: ListingFacts): Pick<ReconcileHold, 'reason' | 'count'> | null {
  if (facts.seenBefore > 0 && facts.knownListed === 0) return { reason: 'unknown_workspace', count: facts.missing };
  if (facts.missing > facts.maxDeletions) return { reason: 'too_many', count: facts.missing };
  return null;
}

/**
 * Whether an operator may confirm a hold. Another workspace's key answers 404 for every one of our accounts: its
 * hold cannot be confirmed (that would delete them all); the key is fixed and a later clean run lifts it.
 */
export function confirmable(reason: ReconcileHoldReason): boolean {
  return reason !== 'unknown_workspace';
}

const WHY: Record<ReconcileHoldReason, string> = {
  unknown_workspace: "the listing shows none of the accounts seen before (is UNIPILE_API_KEY another workspace's?)",
  too_many: 'more accounts are missing from the listing than RECONCILE_MAX_DELETIONS',
};

/** The words operators read in the Temporal UI and logs for a held run. */
export function describeHold(hold: ReconcileHold, maxDeletions: number): string {
  const next = confirmable(hold.reason)
    ? `Confirm with POST /api/reconcile/confirm (hold ${hold.holdId}) or fix the cause; a later clean run lifts it.`
    : `Hold ${hold.holdId} cannot be confirmed: fix UNIPILE_API_KEY; a later clean run lifts it.`;
  return `held: ${hold.count} account(s) missing, none deleted; ${WHY[hold.reason]} (limit ${maxDeletions}). ${next}`;
}
