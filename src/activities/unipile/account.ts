import { UnipileCallError } from '../../unipile/unipile-api';
import type { AttemptRecord } from '../../workflows/account/contract';
import type { ActivityDeps } from '../deps';

type AttemptResult = Pick<AttemptRecord, 'outcome' | 'errorType' | 'reason'>;

/** The account workflow's recovery call that is not LinkedIn's cookie reconnect. */
export function createAccountUnipileActivities(deps: Pick<ActivityDeps, 'unipile'>) {
  const { unipile } = deps;
  return {
    /** One Unipile restart. Transient failures throw (the activity retries); final answers are returned. */
    async restartAccount(input: { accountId: string; n: number; of: number }): Promise<AttemptResult> {
      try {
        const answer = await unipile.restartAccount(input.accountId);
        return answer === 'restarted'
          ? { outcome: 'succeeded' }
          : { outcome: 'failed', errorType: 'AccountFailedToRestart', reason: 'Unipile could not restart the account' };
      } catch (err) {
        if (err instanceof UnipileCallError && !err.transient) {
          return { outcome: 'failed', errorType: err.type, reason: err.message };
        }
        throw err;
      }
    },
  };
}
