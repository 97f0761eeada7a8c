// First connection of a LinkedIn session from the extension's cookies (custom authentication), with an optional
// checkpoint whose code arrives through the API within CHECKPOINT_TIMEOUT. One run per attempt; the API starts
// at most one per CONNECT_RETRY_INTERVAL per session.
import { condition, log, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { AccountActivities } from '../../activities';
import {
  getConnectStateQuery,
  solveCheckpointUpdate,
  type CheckpointAnswer,
  type ConnectState,
  type LinkedinConnectInput,
} from './contract';
import { unipileTaskQueue } from '../task-queues';

const bookkeeping = proxyActivities<AccountActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m', maximumAttempts: 10 },
});

// Runs started before this patch ended connected whoever owned the account; newer runs end failed with
// `account_owned` when it is another user's (finishLinkedinConnection then links nothing).
const ACCOUNT_OWNED_PATCH = 'account-owned-refused';

export async function linkedinConnectWorkflow(input: LinkedinConnectInput): Promise<ConnectState> {
  const unipile = proxyActivities<AccountActivities>({
    taskQueue: unipileTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 4 },
  });
  let state: ConnectState = { phase: 'connecting' };
  let answer: CheckpointAnswer | null = null;
  let solving = false;

  setHandler(getConnectStateQuery, () => state);
  setHandler(
    solveCheckpointUpdate,
    async (code) => {
      solving = true;
      try {
        const current = state as Extract<ConnectState, { phase: 'checkpoint' }>;
        const result = await unipile.solveLinkedinCheckpoint.executeWithOptions({ summary: 'solve checkpoint' }, [
          { sessionId: input.sessionId, accountId: current.accountId, code },
        ]);
        // A wrong code leaves the checkpoint open for another try; anything else moves the connection on.
        if (result.outcome !== 'wrong_code') answer = result;
        return result;
      } finally {
        solving = false;
      }
    },
    {
      validator: (code) => {
        if (state.phase !== 'checkpoint') throw new Error('no checkpoint is waiting for a code');
        if (solving) throw new Error('a code is already being checked');
        if (typeof code !== 'string' || code.trim() === '') throw new Error('code is required');
      },
    },
  );

  let result: CheckpointAnswer = await unipile.connectLinkedin.executeWithOptions({ summary: 'connect with cookies' }, [
    { sessionId: input.sessionId },
  ]);
  for (;;) {
    if (result.outcome === 'connected') {
      const linked = await bookkeeping.finishLinkedinConnection({
        sessionId: input.sessionId,
        accountId: result.accountId,
      });
      if (linked === 'account_owned' && patched(ACCOUNT_OWNED_PATCH)) {
        state = { phase: 'failed', errorType: 'account_owned' };
        log.info('cookie connection refused: the account belongs to another user', { sessionId: input.sessionId });
        return state;
      }
      state = { phase: 'connected', accountId: result.accountId };
      return state;
    }
    if (result.outcome !== 'checkpoint') {
      const errorType = result.outcome === 'failed' ? result.errorType : 'wrong_code';
      await bookkeeping.recordConnectState({
        sessionId: input.sessionId,
        status: 'FAILED',
        recovery: 'NONE',
        lastError: errorType,
      });
      state = { phase: 'failed', errorType };
      log.info('cookie connection failed', { sessionId: input.sessionId, errorType });
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
      await condition(() => !solving);
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
