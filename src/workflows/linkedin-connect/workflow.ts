// First connection of a LinkedIn session from the extension's cookies (custom authentication), with an optional
// checkpoint whose code arrives through the API within CHECKPOINT_TIMEOUT. One run per attempt; the API starts
// at most one per CONNECT_RETRY_INTERVAL per session.
import { condition, log, patched, setHandler } from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import { bookkeepingActivities, unipileActivities } from '../activities';
import { BOOKKEEPING, unipileInBackground } from '../activity-presets';
import {
  getConnectStateQuery,
  solveCheckpointUpdate,
  type CheckpointAnswer,
  type ConnectState,
  type LinkedinConnectInput,
} from './contract';

// This workflow has no path for records that could not be written: they are retried until the database answers.
const bookkeeping = bookkeepingActivities(BOOKKEEPING);

// Runs started before this patch ended connected whoever owned the account; newer runs end failed with
// `account_owned` when it is another user's (finishLinkedinConnection then links nothing).
const ACCOUNT_OWNED_PATCH = 'account-owned-refused';

/** Unipile accepted the cookies: the account is linked to the user, unless it is another user's. */
async function finish(sessionId: string, accountId: string): Promise<ConnectState> {
  const linked = await bookkeeping.finishLinkedinConnection({ sessionId, accountId });
  if (linked === 'account_owned' && patched(ACCOUNT_OWNED_PATCH)) {
    log.info('cookie connection refused: the account belongs to another user', { sessionId });
    return { phase: 'failed', errorType: 'account_owned' };
  }
  return { phase: 'connected', accountId };
}

/** The connection failed: the session row says why. */
async function fail(sessionId: string, errorType: string): Promise<ConnectState> {
  await bookkeeping.recordConnectState({ sessionId, status: 'FAILED', recovery: 'NONE', lastError: errorType });
  log.info('cookie connection failed', { sessionId, errorType });
  return { phase: 'failed', errorType };
}

export async function linkedinConnectWorkflow(input: LinkedinConnectInput): Promise<ConnectState> {
  // Runs started by earlier versions keep the retries they had (new cookie connections run connectionWorkflow).
  const unipile = unipileActivities(unipileInBackground());
  let state: ConnectState = { phase: 'connecting' };
  let answer: CheckpointAnswer | null = null;
  // One code checked at a time: a second one arriving meanwhile is refused, and the timeout waits for the first.
  const checkpointCodeMutex = new Mutex();

  setHandler(getConnectStateQuery, () => state);
  setHandler(
    solveCheckpointUpdate,
    (code) =>
      checkpointCodeMutex.runExclusive(async () => {
        const current = state as Extract<ConnectState, { phase: 'checkpoint' }>;
        const result = await unipile.solveLinkedinCheckpoint.executeWithOptions({ summary: 'solve checkpoint' }, [
          { sessionId: input.sessionId, accountId: current.accountId, code },
        ]);
        // A wrong code leaves the checkpoint open for another try; anything else moves the connection on.
        if (result.outcome !== 'wrong_code') answer = result;
        return result;
      }),
    {
      validator: (code) => {
        if (state.phase !== 'checkpoint') throw new Error('no checkpoint is waiting for a code');
        if (checkpointCodeMutex.isLocked()) throw new Error('a code is already being checked');
        if (typeof code !== 'string' || code.trim() === '') throw new Error('code is required');
      },
    },
  );

  let result: CheckpointAnswer = await unipile.connectLinkedin.executeWithOptions({ summary: 'connect with cookies' }, [
    { sessionId: input.sessionId },
  ]);
  for (;;) {
    if (result.outcome === 'connected') {
      state = await finish(input.sessionId, result.accountId);
      return state;
    }
    if (result.outcome !== 'checkpoint') {
      state = await fail(input.sessionId, result.outcome === 'failed' ? result.errorType : 'wrong_code');
      return state;
    }

    state = { phase: 'checkpoint', accountId: result.accountId, checkpointType: result.checkpointType };
    await bookkeeping.recordConnectState({
      sessionId: input.sessionId,
      status: 'CHECKPOINT',
      recovery: 'CHECKPOINT',
      checkpoint: {
        accountId: result.accountId,
        type: result.checkpointType,
        // Workflow time: the moment the timer below gives up.
        expiresAt: new Date(Date.now() + input.checkpointTimeoutMs).toISOString(),
      },
    });
    answer = null;
    const answered = await condition(() => answer !== null, input.checkpointTimeoutMs, {
      summary: `waiting for ${result.checkpointType} code`,
    });
    if (!answered) {
      // The authentication intent is gone; the next attempt waits for CONNECT_RETRY_INTERVAL.
      await checkpointCodeMutex.waitForUnlock();
      await bookkeeping.recordConnectState({
        sessionId: input.sessionId,
        status: 'CHECKPOINT_TIMEOUT',
        recovery: 'NONE',
        lastError: 'checkpoint_timeout',
      });
      state = { phase: 'timed_out' };
      return state;
    }
    result = answer!;
  }
}
