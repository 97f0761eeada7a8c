// Reconciliation holds: what a held run kept back, and an operator's confirmation, which starts the
// workflow that deletes exactly the held accounts Unipile still answers 404 for. Raises domain errors only.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Knex } from 'knex';
import { DomainError } from '../platform/errors';
import {
  RECONCILE_CONFIRM_WORKFLOW_TYPE,
  reconcileConfirmWorkflowId,
  type ReconcileConfirmInput,
  type ReconcileHoldReason,
} from '../workflows/reconcile/contract';
import { confirmable } from '../workflows/reconcile/rules';

/** No hold is waiting for a confirmation (none was made, or a clean run or a confirmation ended it). */
export class NoHoldError extends DomainError {
  constructor(readonly holdId?: number) {
    super(
      'not_found',
      'not_found',
      holdId === undefined ? 'No reconciliation is held' : `Reconciliation hold ${holdId} is not held`,
    );
  }
}

/**
 * The hold comes from a listing that shows none of our accounts: most likely UNIPILE_API_KEY is another
 * workspace's, whose GETs answer 404 for every account of ours, so confirming it would delete them all.
 */
export class HoldNotConfirmableError extends DomainError {
  constructor(readonly holdId: number) {
    super(
      'conflict',
      'hold_not_confirmable',
      `Reconciliation hold ${holdId} cannot be confirmed: Unipile's listing showed none of the accounts seen before, ` +
        "so UNIPILE_API_KEY is probably another workspace's (it would answer 404 for every account). Fix the key; " +
        'the next clean run lifts the hold',
    );
  }
}

/** Temporal could not be reached to start applying the hold; nothing changed. */
export class ConfirmUnavailableError extends DomainError {
  constructor(readonly reason: string) {
    // The reason (Temporal's own words) is for logs; the caller is told to retry.
    super('unavailable', 'unavailable', 'Temporal could not be reached; retry later', 30);
  }
}

export interface ConfirmedHold {
  holdId: number;
  reason: ReconcileHoldReason;
  accounts: number;
  workflowId: string;
}

/**
 * Confirms the hold (the newest held one when no id is given) and starts applying it; idempotent. A hold already
 * confirmed is taken again when its workflow is no longer running (terminated, say): it goes on where the accounts
 * stand, so a confirmation cannot get stuck half-way.
 */
export async function confirmHold(
  deps: { db: Knex; temporal: Client; taskQueue: string },
  holdId?: number,
): Promise<ConfirmedHold> {
  const query = deps.db('reconcile_holds').whereIn('state', ['held', 'confirmed']);
  const row = (await (holdId === undefined ? query.orderBy('id', 'desc') : query.where({ id: holdId })).first(
    'id',
    'reason',
    'count',
  )) as { id: string; reason: ReconcileHoldReason; count: number } | undefined;
  if (!row) throw new NoHoldError(holdId);
  const id = Number(row.id);
  if (!confirmable(row.reason)) throw new HoldNotConfirmableError(id);
  const workflowId = reconcileConfirmWorkflowId(deps.taskQueue, id);
  try {
    await deps.temporal.workflow.start<(input: ReconcileConfirmInput) => Promise<unknown>>(
      RECONCILE_CONFIRM_WORKFLOW_TYPE,
      {
        workflowId,
        taskQueue: deps.taskQueue,
        args: [{ holdId: id }],
        // A running one answers "already started" (confirmed twice); a closed one is followed by a new run.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        staticSummary: `Confirmed reconciliation hold ${id}: ${row.count} account(s)`,
      },
    );
  } catch (err) {
    // Confirmed twice: the first confirmation is still applying it.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError))
      throw new ConfirmUnavailableError((err as Error).message);
  }
  return { holdId: id, reason: row.reason, accounts: row.count, workflowId };
}
