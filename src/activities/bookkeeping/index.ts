import type { ActivityDeps } from '../deps';
import { createAccountBookkeepingActivities } from './account';
import { createConnectionBookkeepingActivities } from './connection';
import { createEmailActivities } from './email';
import { createLinkedinBookkeepingActivities } from './linkedin';
import { createReconcileBookkeepingActivities } from './reconcile';
import { createProviderBookkeepingActivities } from './providers';

/**
 * The activities of the main task queue: our own records (database writes, stored events) and the account emails.
 * "Bookkeeping" because none of them is a call to Unipile; those are `UnipileActivities`, on their own queue, so a
 * workflow proxying one of these two types cannot put an activity on the other's queue.
 */
export function createBookkeepingActivities(deps: ActivityDeps) {
  return {
    ...createAccountBookkeepingActivities(deps),
    ...createEmailActivities(deps),
    ...createLinkedinBookkeepingActivities(deps),
    ...createConnectionBookkeepingActivities(deps),
    ...createReconcileBookkeepingActivities(deps),
    ...createProviderBookkeepingActivities(deps),
  };
}

export type BookkeepingActivities = ReturnType<typeof createBookkeepingActivities>;
export type { LinkOutcome } from './linkedin';
