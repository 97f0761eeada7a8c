// One custom-authentication connection: Unipile's first answer, then each step the user answers
// through the API (a Temporal update, answered synchronously) until the account is connected, the connection fails,
// or a step waits longer than CHECKPOINT_TIMEOUT. QR codes and in-app validations are checked at Unipile every
// CONNECTION_POLL_INTERVAL. Passwords, codes and QR payloads never pass through here: activities read them,
// encrypted, from the connection's row.
import { ActivityFailure, allHandlersFinished, condition, log, patched, setHandler } from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import type { LinkOutcome } from '../../activities/bookkeeping';
import { bookkeepingActivities, unipileActivities } from '../activities';
import { BOOKKEEPING, BOOKKEEPING_BOUNDED, UNIPILE_WHILE_USER_WAITS } from '../activity-presets';
import {
  answerConnectionStepUpdate,
  awaitConnectionStepUpdate,
  getConnectionStepQuery,
  STEP_ANSWER_KINDS,
  type ConnectionAttempt,
  type ConnectionInput,
  type ConnectionStep,
} from './contract';

// Past its tries, the connection ends failed through `lastRecord` (see ERASE_ON_FAILURE_PATCH).
const bookkeeping = bookkeepingActivities(BOOKKEEPING_BOUNDED);

/** The last record of a connection whose bookkeeping gave up: retried until the database answers. */
const lastRecord = bookkeepingActivities(BOOKKEEPING);

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

/** A failure after the retries is an outcome for the user, never a failed workflow. */
async function safely(call: () => Promise<ConnectionAttempt>): Promise<ConnectionAttempt> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ActivityFailure) return { kind: 'failed', error: 'unipile_unavailable' };
    throw err;
  }
}

/** The step the user now answers (or scans), open until `expiresAt`. */
function waitingStep(
  attempt: Extract<ConnectionAttempt, { kind: 'checkpoint' | 'qrcode' }>,
  expiresAt: string,
): ConnectionStep {
  if (attempt.kind === 'qrcode') return { type: 'qrcode', expiresAt };
  return {
    type: 'checkpoint',
    checkpoint: attempt.checkpoint,
    ...(attempt.source ? { source: attempt.source } : {}),
    ...(attempt.options ? { options: attempt.options } : {}),
    expiresAt,
  };
}

/** Unipile accepted the connection: the account is read (under the Unipile rate cap) and linked to the user. */
async function linkAccount(
  unipile: ReturnType<typeof unipileActivities>,
  ids: { connectionId: string; accountId: string },
): Promise<LinkOutcome> {
  if (!patched(ACCOUNT_READ_UNDER_CAP_PATCH)) return bookkeeping.finishConnection(ids);
  // Unipile unreachable after the retries: the account is connected all the same (the provider the user chose).
  const account = await unipile.readConnectedAccount(ids).catch((err: unknown) => {
    if (err instanceof ActivityFailure) return null;
    throw err;
  });
  return bookkeeping.finishConnection({ ...ids, account });
}

export async function connectionWorkflow(input: ConnectionInput): Promise<ConnectionStep> {
  const { connectionId } = input;
  // 425 and other final answers come back as results; only transient failures are retried, briefly (the user waits).
  const unipile = unipileActivities(UNIPILE_WHILE_USER_WAITS);

  let version = 0;
  let step: ConnectionStep = { type: 'connecting' };
  let pendingAccountId: string | null = null;
  let deadline = 0;
  // One exchange with Unipile about the current step at a time: the user's answer or our poll. An answer arriving
  // while it is held is refused (the API answers 409, try again) rather than run beside the other.
  const stepAnswerMutex = new Mutex();

  async function move(next: ConnectionStep, state: 'pending' | 'connected' | 'failed' | 'expired'): Promise<void> {
    await bookkeeping.recordConnectionStep({ connectionId, step: next, state, accountId: pendingAccountId });
    step = next;
    version++;
  }

  async function apply(attempt: ConnectionAttempt): Promise<void> {
    switch (attempt.kind) {
      case 'connected': {
        pendingAccountId = attempt.accountId;
        const linked = await linkAccount(unipile, { connectionId, accountId: attempt.accountId });
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
        await move(waitingStep(attempt, new Date(deadline).toISOString()), 'pending');
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
    (kind) =>
      stepAnswerMutex.runExclusive(async () => {
        const attempt = await safely(() =>
          unipile.answerConnectionStep.executeWithOptions({ summary: `answer: ${kind}` }, [
            { connectionId, accountId: pendingAccountId!, kind },
          ]),
        );
        if (attempt.kind === 'wrong_code') return { outcome: 'wrong_code' as const, step };
        await apply(attempt);
        return { outcome: 'next' as const, step };
      }),
    {
      validator: (kind) => {
        if (!waiting(step)) throw new Error('no step is waiting for an answer');
        if (stepAnswerMutex.isLocked()) throw new Error('an answer is already being checked');
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
        await condition(
          () => version !== seen && !stepAnswerMutex.isLocked(),
          polled(step) ? Math.min(left, input.pollIntervalMs) : left,
        );
      }
      await stepAnswerMutex.waitForUnlock();
      if (version !== seen) continue; // an answer moved the connection on
      if (Date.now() >= deadline) {
        await move({ type: 'failed', error: 'expired' }, 'expired');
        break;
      }
      if (polled(step) && pendingAccountId) {
        const accountId = pendingAccountId;
        await stepAnswerMutex.runExclusive(async () => {
          const attempt = await safely(() => unipile.pollConnection({ connectionId, accountId }));
          // Unipile unreachable for a moment while the user scans: keep waiting until the deadline.
          if (attempt.kind !== 'failed') await apply(attempt);
        });
      }
    }
  }
}
