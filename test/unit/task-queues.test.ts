import { createBookkeepingActivities } from '../../src/activities/bookkeeping';
import type { ActivityDeps } from '../../src/activities/deps';
import { createUnipileActivities } from '../../src/activities/unipile';
import type { bookkeepingActivities, unipileActivities } from '../../src/workflows/activities';

// Each task queue's worker registers one factory; workflows proxy each queue with that factory's type. Nothing here
// connects to anything: the factories only keep their dependencies for later.
describe('task queues', () => {
  const deps = {} as ActivityDeps;
  const unipileNames = Object.keys(createUnipileActivities(deps)).sort();
  const bookkeepingNames = Object.keys(createBookkeepingActivities(deps)).sort();

  test('every call to Unipile, and only those, is registered on the Unipile queue (names as histories know them)', () => {
    expect(unipileNames).toEqual(
      [
        'answerConnectionStep',
        'checkHeldAccount',
        'confirmAccountGone',
        'connectLinkedin',
        'listUnipileAccountsPage',
        'pollConnection',
        'readConnectedAccount',
        'reconnectLinkedin',
        'restartAccount',
        'solveLinkedinCheckpoint',
        'startConnectionAttempt',
      ].sort(),
    );
  });

  test('the main queue has the records and the emails, and no activity is on both queues', () => {
    expect(bookkeepingNames).toEqual(
      [
        'applyListing',
        'applyProviderIncidentAction',
        'checkEmailHold',
        'claimHold',
        'deleteGoneAccounts',
        'endReconcileRun',
        'evaluateProviderIncidents',
        'finishConnection',
        'finishHold',
        'finishLinkedinConnection',
        'reconcileAccountsPage',
        'reconcileGoneAccounts',
        'recordAccountState',
        'recordConnectState',
        'recordConnectionStep',
        'releaseProviderHolds',
        'sendAccountEmail',
        'stageListedAccounts',
        'summarizeListing',
      ].sort(),
    );
    expect(unipileNames.filter((name) => bookkeepingNames.includes(name))).toEqual([]);
  });

  // Checked by `tsc` (npm run typecheck), not at run time: if an activity of one queue ever becomes callable through
  // the other queue's proxy, the `@ts-expect-error` lines below stop being errors and the typecheck fails.
  test('an activity proxied through the wrong queue does not compile', () => {
    function wrongQueue(
      unipile: ReturnType<typeof unipileActivities>,
      bookkeeping: ReturnType<typeof bookkeepingActivities>,
    ): unknown[] {
      return [
        // @ts-expect-error an email is sent from the main queue, never under the Unipile rate limit
        unipile.sendAccountEmail,
        // @ts-expect-error the account's records are written on the main queue
        unipile.recordAccountState,
        // @ts-expect-error a Unipile call on the main queue would escape UNIPILE_MAX_RPS
        bookkeeping.restartAccount,
        // The right queues compile.
        unipile.restartAccount,
        bookkeeping.sendAccountEmail,
      ];
    }
    expect(typeof wrongQueue).toBe('function');
  });
});
