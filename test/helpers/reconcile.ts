// Reconciliation runs on demand, as an operator triggers them (the Temporal UI's "Trigger" button makes the same
// call), for the tests that watch what a run did.
import { reconcileScheduleId, type ReconcileSummary } from '../../src/workflows/reconcile/contract';
import { type Stack, waitFor } from './stack';

export interface ReconcileRun {
  summary: ReconcileSummary;
  workflowId: string;
  runId: string;
}

/** Triggers the reconcile-accounts schedule once and waits for that run's summary. */
export async function reconcileNow(stack: Stack): Promise<ReconcileRun> {
  const schedule = stack.client.schedule.getHandle(reconcileScheduleId(stack.config.TEMPORAL_TASK_QUEUE));
  // recentActions keeps the last 10 only: a new run is told by its run id, not by the count.
  const lastRun = (actions: { action: { workflow: { firstExecutionRunId: string } } }[]) =>
    actions[actions.length - 1]?.action.workflow.firstExecutionRunId;
  const before = lastRun((await schedule.describe()).info.recentActions);
  await schedule.trigger();
  let workflowId = '';
  let runId = '';
  await waitFor(
    async () => {
      const actions = (await schedule.describe()).info.recentActions;
      if (actions.length === 0 || lastRun(actions) === before) return false;
      const last = actions[actions.length - 1]!.action;
      workflowId = last.workflow.workflowId;
      runId = last.workflow.firstExecutionRunId;
      return true;
    },
    30_000,
    'a reconciliation run',
  );
  const summary = await stack.client.workflow.getHandle(workflowId, runId).result();
  return { summary, workflowId, runId };
}

/** What a workflow tells operators in the Temporal UI (its current details). */
export async function currentDetails(stack: Stack, workflowId: string, runId?: string): Promise<string> {
  const meta = await stack.client.workflow
    .getHandle(workflowId, runId)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return meta.currentDetails ?? '';
}
