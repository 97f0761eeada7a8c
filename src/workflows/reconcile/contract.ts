// The reconciliation workflows' contract (the scheduled run and the confirmation of a hold), shared by the
// workflows, the worker, the API and the tests.
import { DEFAULT_TASK_QUEUE } from '../task-queues';

/** Workflow type names: the schedule and the API start them by name. */
export const RECONCILE_WORKFLOW_TYPE = 'reconcileAccountsWorkflow';

/** What one reconciliation found and did. */
export interface ReconcileSummary {
  seen: number;
  /** Known accounts whose status at Unipile differed from ours: a `reconcile` event each. */
  differing: number;
  /** Accounts at Unipile we had no row for: a row without a user, and a workflow. */
  unknown: number;
  /** Our accounts Unipile no longer lists: DELETED. */
  gone: number;
  /** The listing did not finish (Unipile unreachable): nothing was marked gone; the next run tries again. */
  incomplete: boolean;
  /** Our accounts missing from the complete listing; each is asked of Unipile unless the run is held. */
  missing?: number;
  /** Accounts reconciliation had deleted that Unipile lists again: restored. */
  restored?: number;
  /** Deletions held for an operator (POST /api/reconcile/confirm), or null. */
  held?: ReconcileHold | null;
}

export type ReconcileHoldReason = 'too_many' | 'unknown_workspace';

/** A run's deletions held back: why, how many accounts, and the hold an operator confirms. */
export interface ReconcileHold {
  reason: ReconcileHoldReason;
  count: number;
  holdId: number;
}

export const RECONCILE_CONFIRM_WORKFLOW_TYPE = 'reconcileConfirmWorkflow';

/**
 * Unipile's answer for one account of a confirmed hold; after a first 404, `waitMs` is how long (database clock)
 * until that 404 is RECONCILE_GRACE old and a second one may confirm the account gone.
 */
export interface HeldVerdict {
  verdict: 'alive' | 'first_404' | 'gone' | 'unknown';
  waitMs: number;
}

/** Applies one confirmed hold; `offset` and the counts carry over continue-as-new. */
export interface ReconcileConfirmInput {
  holdId: number;
  offset?: number;
  deleted?: number;
  kept?: number;
}

/** One workflow per confirmed hold (a second confirm finds it started); per task queue, like the schedule. */
export function reconcileConfirmWorkflowId(taskQueue: string, holdId: number): string {
  return `${reconcileScheduleId(taskQueue)}-confirm-${holdId}`;
}

/**
 * The schedule that runs reconciliation every RECONCILE_INTERVAL: `reconcile-accounts` on the default task queue;
 * deployments sharing a namespace on other queues each get their own.
 */
export function reconcileScheduleId(taskQueue: string): string {
  return taskQueue === DEFAULT_TASK_QUEUE ? 'reconcile-accounts' : `reconcile-accounts:${taskQueue}`;
}
