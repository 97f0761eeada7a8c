// One custom-authentication connection (SPEC §10.4): Unipile's first answer, then each step the user answers
// through the API (a Temporal update, answered synchronously) until the account is connected, the connection fails,
// or a step waits longer than CHECKPOINT_TIMEOUT. QR codes and in-app validations are checked at Unipile every
// CONNECTION_POLL_INTERVAL. Passwords, codes and QR payloads never pass through here: activities read them,
// encrypted, from the connection's row.
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { AccountActivities } from '../../activities';
import {
  answerConnectionStepUpdate,
  awaitConnectionStepUpdate,
  getConnectionStepQuery,
  STEP_ANSWER_KINDS,
  type ConnectionAttempt,
  type ConnectionInput,
  type ConnectionStep,
} from './contract';
import { unipileTaskQueue } from '../task-queues';

const bookkeeping = proxyActivities<AccountActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

/** The last record of a connection whose bookkeeping gave up: retried until the database answers. */
const lastRecord = proxyActivities<AccountActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

// Runs started before this patch read the new account from Unipile inside finishConnection, on the main task
// queue (outside UNIPILE_MAX_RPS); newer runs read it on the Unipile queue first.
const ACCOUNT_READ_UNDER_CAP_PATCH = 'account-read-under-cap';
// Runs started before this patch linked whatever account Unipile answered with; newer runs end failed with
// `account_owned` when it is another user's (finishConnection then links nothing).
const ACCOUNT_OWNED_PATCH = 'account-owned-refused';
// Runs started before this patch failed when their own records could not be written, leaving secrets in the row;
// newer runs end failed and erase them.
const ERASE_ON_FAILURE_PATCH = 'erase-secrets-on-bookkeeping-failure';

/** Steps that wait for the user. */
const waiting = (step: ConnectionStep): boolean => step.type === 'checkpoint' || step.type === 'qrcode';

/** Steps that change without the user typing anything here: we look at Unipile now and then. */
const polled = (step: ConnectionStep): boolean =>
  step.type === 'qrcode' || (step.type === 'checkpoint' && step.checkpoint === 'IN_APP_VALIDATION');

export async function connectionWorkflow(input: ConnectionInput): Promise<ConnectionStep> {
  const { connectionId } = input;
  const unipile = proxyActivities<AccountActivities>({
    taskQueue: unipileTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '1m',
    // 425 and other final answers come back as results; only transient failures are retried, briefly (the user waits).
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
  });

  let version = 0;
  let step: ConnectionStep = { type: 'connecting' };
  let pendingAccountId: string | null = null;
  let deadline = 0;
  let busy = false;

  /** A failure after the retries is an outcome for the user, never a failed workflow. */
  async function safely(call: () => Promise<ConnectionAttempt>): Promise<ConnectionAttempt> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof ActivityFailure) return { kind: 'failed', error: 'unipile_unavailable' };
      throw err;
    }
  }

  async function move(next: ConnectionStep, state: 'pending' | 'connected' | 'failed' | 'expired'): Promise<void> {
    await bookkeeping.recordConnectionStep({ connectionId, step: next, state, accountId: pendingAccountId });
    step = next;
    version++;
  }

  async function apply(attempt: ConnectionAttempt): Promise<void> {
    switch (attempt.kind) {
      case 'connected': {
        pendingAccountId = attempt.accountId;
        const ids = { connectionId, accountId: attempt.accountId };
        let linked;
        if (patched(ACCOUNT_READ_UNDER_CAP_PATCH)) {
          // Unipile unreachable after the retries: the account is connected all the same (the provider the user chose).
          const account = await unipile.readConnectedAccount(ids).catch((err: unknown) => {
            if (err instanceof ActivityFailure) return null;
            throw err;
          });
          linked = await bookkeeping.finishConnection({ ...ids, account });
        } else {
          linked = await bookkeeping.finishConnection(ids);
        }
        if (linked === 'account_owned' && patched(ACCOUNT_OWNED_PATCH)) {
          log.info('connection refused: the account belongs to another user', { connectionId });
          await move({ type: 'failed', error: 'account_owned' }, 'failed');
          return;
        }
        step = { type: 'connected', accountId: attempt.accountId };
        version++;
        return;
      }
      case 'checkpoint':
      case 'qrcode': {
        pendingAccountId = attempt.accountId;
        deadline = Date.now() + input.checkpointTimeoutMs; // each step gets the whole window
        const expiresAt = new Date(deadline).toISOString();
        await move(
          attempt.kind === 'qrcode'
            ? { type: 'qrcode', expiresAt }
            : {
                type: 'checkpoint',
                checkpoint: attempt.checkpoint,
                ...(attempt.source ? { source: attempt.source } : {}),
                ...(attempt.options ? { options: attempt.options } : {}),
                expiresAt,
              },
          'pending',
        );
        return;
      }
      case 'failed':
        log.info('connection failed', { connectionId, error: attempt.error });
        await move({ type: 'failed', error: attempt.error }, 'failed');
        return;
      case 'wrong_code':
      case 'unchanged':
        return;
    }
  }

  setHandler(getConnectionStepQuery, () => ({ version, step }));
  setHandler(awaitConnectionStepUpdate, async (after) => {
    await condition(() => version > after);
    return { version, step };
  });
  setHandler(
    answerConnectionStepUpdate,
    async (kind) => {
      busy = true;
      try {
        const attempt = await safely(() =>
          unipile.answerConnectionStep.executeWithOptions({ summary: `answer: ${kind}` }, [
            { connectionId, accountId: pendingAccountId!, kind },
          ]),
        );
        if (attempt.kind === 'wrong_code') return { outcome: 'wrong_code' as const, step };
        await apply(attempt);
        return { outcome: 'next' as const, step };
      } finally {
        busy = false;
      }
    },
    {
      validator: (kind) => {
        if (!waiting(step)) throw new Error('no step is waiting for an answer');
        if (busy) throw new Error('an answer is already being checked');
        if (!STEP_ANSWER_KINDS.includes(kind)) throw new Error(`unknown answer ${String(kind)}`);
      },
    },
  );

  try {
    await run();
  } catch (err) {
    // Our own records could not be written, after every retry: rather than failing with the secrets left in the
    // row, the connection ends failed and they are erased as soon as the database answers again.
    if (!(err instanceof ActivityFailure) || !patched(ERASE_ON_FAILURE_PATCH)) throw err;
    log.warn('connection bookkeeping failed; ending the connection', { connectionId });
    step = { type: 'failed', error: 'internal_error' };
    version++;
    await lastRecord.recordConnectionStep({ connectionId, step, state: 'failed', accountId: pendingAccountId });
  }
  await condition(allHandlersFinished);
  return step;

  async function run(): Promise<void> {
    await apply(await safely(() => unipile.startConnectionAttempt({ connectionId })));
    while (waiting(step)) {
      const seen = version;
      const left = deadline - Date.now();
      if (left > 0) {
        await condition(() => version !== seen && !busy, polled(step) ? Math.min(left, input.pollIntervalMs) : left);
      }
      await condition(() => !busy);
      if (version !== seen) continue; // an answer moved the connection on
      if (Date.now() >= deadline) {
        await move({ type: 'failed', error: 'expired' }, 'expired');
        break;
      }
      if (polled(step) && pendingAccountId) {
        const accountId = pendingAccountId;
        busy = true; // an answer arriving now is refused (409, try again) rather than run beside the poll
        try {
          const attempt = await safely(() => unipile.pollConnection({ connectionId, accountId }));
          // Unipile unreachable for a moment while the user scans: keep waiting until the deadline.
          if (attempt.kind !== 'failed') await apply(attempt);
        } finally {
          busy = false;
        }
      }
    }
  }
}
