import type { ActivityDeps } from '../deps';
import { createAccountUnipileActivities } from './account';
import { createConnectionUnipileActivities } from './connection';
import { createLinkedinUnipileActivities } from './linkedin';
import { createReconcileUnipileActivities } from './reconcile';

/**
 * Every activity that calls Unipile, and nothing else: the worker registers exactly these on `<queue>-unipile`,
 * whose server-side rate limit (UNIPILE_MAX_RPS) holds across worker processes. Named after the queue, so a
 * workflow proxying `UnipileActivities` cannot reach a database-only or email activity by mistake.
 */
export function createUnipileActivities(deps: ActivityDeps) {
  return {
    ...createAccountUnipileActivities(deps),
    ...createLinkedinUnipileActivities(deps),
    ...createConnectionUnipileActivities(deps),
    ...createReconcileUnipileActivities(deps),
  };
}

export type UnipileActivities = ReturnType<typeof createUnipileActivities>;
export type { ConnectOutcome } from './linkedin';
export type { GoneVerdict, ListedAccount } from './reconcile';
