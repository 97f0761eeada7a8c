// One proxy per task queue, each typed with that queue's activities: an activity proxied through the wrong queue
// does not compile. Activity types only (`import type`): no activity code enters the workflow bundle.
import { proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { BookkeepingActivities } from '../activities/bookkeeping';
import type { UnipileActivities } from '../activities/unipile';
import type { ActivityPreset } from './activity-presets';
import { unipileTaskQueue } from './task-queues';

/** Calls to Unipile, on `<queue>-unipile` beside the workflow's own queue. Call it inside the workflow function. */
export function unipileActivities(preset: ActivityPreset) {
  return proxyActivities<UnipileActivities>({ ...preset, taskQueue: unipileTaskQueue(workflowInfo().taskQueue) });
}

/** Our own records and the emails, on the workflow's own task queue. */
export function bookkeepingActivities(preset: ActivityPreset) {
  return proxyActivities<BookkeepingActivities>(preset);
}

/** The same, as local activities: run by the worker that runs the workflow task, with no task queue of their own. */
export function localBookkeepingActivities(preset: ActivityPreset) {
  return proxyLocalActivities<BookkeepingActivities>(preset);
}
