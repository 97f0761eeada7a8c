// Custom-authentication connections as the backend API sees them: start one (its workflow answers the first step
// synchronously), read where it stands, answer a step. Secrets go to the connection's row, encrypted,
// and from there to the activity that sends them to Unipile; the workflow and its history only see kinds and ids.
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../platform/config';
import { DomainError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import type { ConnectionBody, StepBody } from './input';
import { CookieCipher } from '../platform/cipher';
import {
  ANSWER_ERASED,
  connectionById,
  ERASED,
  newConnectionId,
  openSecret,
  sealSecret,
  type ConnectionRow,
} from './store';
import {
  answerConnectionStepUpdate,
  awaitConnectionStepUpdate,
  CONNECTION_WORKFLOW_TYPE,
  connectionWorkflowId,
  type ConnectionStep,
  type ConnectionWorkflowFn,
  type StepAnswerKind,
} from '../workflows/connection/contract';

/** What starting and answering a connection needs. */
export interface ConnectionDeps {
  db: Knex;
  config: Config;
  temporal: Client;
  logger: Logger;
}
type Deps = ConnectionDeps;

/** How long the API waits for Unipile's answer to a step before telling the client to look again. */
const STEP_WAIT_MS = 60_000;
/** An answer claimed longer ago than this cannot still be in use (its request gave up waiting long before). */
const ANSWER_STALE_SECONDS = (2 * STEP_WAIT_MS) / 1000;

export interface ConnectionAnswer {
  connectionId: string;
  step: ConnectionStep & { qrcode?: string; message?: string };
}

/** Words for the failures the user must act on elsewhere before trying again (by the step's error code). */
export const FAILURE_MESSAGES: Record<string, string> = {
  account_restricted:
    'The provider restricted this account. Verify your identity with the provider (sign in on its website or app ' +
    'and follow its steps), then try again.',
};

const cipherOf = (deps: Deps) => new CookieCipher(deps.config.COOKIE_ENCRYPTION_KEY);

/** The step with, for a QR code, the payload to show (decrypted from the row, never kept in the workflow). */
function present(deps: Deps, row: ConnectionRow, step: ConnectionStep): ConnectionAnswer {
  if (step.type === 'qrcode' && row.qrcode_ciphertext) {
    const qrcode = openSecret(cipherOf(deps), row.id, 'qrcode', row.qrcode_ciphertext);
    return { connectionId: row.id, step: { ...step, qrcode } };
  }
  const message = step.type === 'failed' ? FAILURE_MESSAGES[step.error] : undefined;
  if (message) return { connectionId: row.id, step: { ...step, message } };
  return { connectionId: row.id, step };
}

async function rowOr404(deps: Deps, connectionId: string): Promise<ConnectionRow> {
  const row = await connectionById(deps.db, connectionId);
  if (!row) throw new DomainError('not_found', 'not_found', `No connection ${connectionId}`);
  return row;
}

/** Another user's account: what every path that finishes a connection answers, as hosted auth does. */
const accountOwned = () =>
  new DomainError(
    'conflict',
    'account_owned',
    'Unipile answered with an account that belongs to another user; nothing was linked',
  );

/** A step as the caller gets it; a connection that ended on another user's account is a 409. */
function refuseOwned(step: ConnectionStep): void {
  if (step.type === 'failed' && step.error === 'account_owned') throw accountOwned();
}

/**
 * A new connection: its row, then its workflow. When the start fails (Temporal down or slow) the row is closed as
 * `failed: not_started` with its secrets erased before the error goes to the caller: nothing stays pending with a
 * password. Should the workflow have started after all, its first activity finds the row closed and sends nothing.
 */
export async function launchConnection(
  deps: Pick<Deps, 'db' | 'config' | 'temporal'>,
  row: Pick<ConnectionRow, 'id' | 'user_id' | 'provider' | 'kind'> &
    Partial<Pick<ConnectionRow, 'account_id' | 'session_id' | 'credentials_ciphertext'>>,
  summary: string,
) {
  const { db, config, temporal } = deps;
  await db('connections').insert({ ...row, step: JSON.stringify({ type: 'connecting' }) });
  try {
    return await temporal.connection.withDeadline(Date.now() + 5000, () =>
      temporal.workflow.start<ConnectionWorkflowFn>(CONNECTION_WORKFLOW_TYPE, {
        workflowId: connectionWorkflowId(row.id),
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [
          {
            connectionId: row.id,
            checkpointTimeoutMs: config.CHECKPOINT_TIMEOUT,
            pollIntervalMs: config.CONNECTION_POLL_INTERVAL,
          },
        ],
        staticSummary: summary,
      }),
    );
  } catch (err) {
    // A start that timed out on our side may have reached the server: a workflow that exists owns the row (it may
    // already be using the password), so the connection goes on and the caller gets it.
    const handle = temporal.workflow.getHandle(connectionWorkflowId(row.id));
    const started = await temporal.connection
      .withDeadline(Date.now() + 2000, () => handle.describe())
      .then(() => true)
      .catch(() => false);
    if (started) return handle;
    await db('connections')
      .where({ id: row.id, state: 'pending' })
      .whereRaw(`step->>'type' = 'connecting'`)
      .update({
        state: 'failed',
        step: JSON.stringify({ type: 'failed', error: 'not_started' }),
        ...ERASED,
        updated_at: db.fn.now(),
      });
    throw err;
  }
}

export async function startConnection(
  deps: Deps,
  input: { userId: string; body: ConnectionBody; reconnect?: string },
): Promise<ConnectionAnswer> {
  const { db, temporal } = deps;
  const id = newConnectionId();
  const { provider, ...fields } = input.body;
  let handle;
  try {
    handle = await launchConnection(
      deps,
      {
        id,
        user_id: input.userId,
        provider,
        kind: input.reconnect ? 'reconnect' : 'create',
        account_id: input.reconnect ?? null,
        credentials_ciphertext:
          Object.keys(fields).length > 0 ? sealSecret(cipherOf(deps), id, 'credentials', JSON.stringify(fields)) : null,
      },
      `${provider} ${input.reconnect ? `reconnection of ${input.reconnect}` : 'connection'} for user ${input.userId}`,
    );
  } catch (err) {
    // Not started: the row is closed and what the user typed erased (launchConnection); they send it again.
    deps.logger.warn({ connectionId: id, err: (err as Error).message }, 'connection could not be started');
    throw new DomainError(
      'unavailable',
      'unavailable',
      'The connection could not be started; nothing was kept, retry later',
    );
  }
  let view;
  try {
    view = await temporal.connection.withDeadline(Date.now() + STEP_WAIT_MS, () =>
      handle.executeUpdate(awaitConnectionStepUpdate, { args: [0] }),
    );
  } catch (err) {
    // Unipile slow: the step may be there already; otherwise the client reads it later.
    deps.logger.warn({ connectionId: id, err: (err as Error).message }, 'connection did not answer in time');
    const row = await connectionById(db, id);
    if (row && row.step.type !== 'connecting') {
      refuseOwned(row.step);
      return present(deps, row, row.step);
    }
    throw new DomainError(
      'unavailable',
      'unavailable',
      `Connection ${id} has no answer from Unipile yet; GET it again`,
    );
  }
  refuseOwned(view.step);
  return present(deps, (await connectionById(db, id))!, view.step);
}

export async function readConnection(
  deps: Deps,
  connectionId: string,
): Promise<ConnectionAnswer & { userId: string; provider: string }> {
  const row = await rowOr404(deps, connectionId);
  return { ...present(deps, row, row.step), userId: row.user_id, provider: row.provider };
}

/** What an answer is, and which checkpoint it answers. */
function answerOf(body: StepBody): { kind: StepAnswerKind; value?: string } {
  if ('code' in body) return { kind: 'code', value: body.code };
  if ('phone' in body) return { kind: 'phone', value: body.phone };
  if ('contractId' in body) return { kind: 'contract', value: body.contractId };
  return { kind: body.action };
}

function refuseMismatch(step: ConnectionStep, kind: StepAnswerKind): void {
  if (step.type === 'qrcode') {
    throw new DomainError(
      'conflict',
      'nothing_to_answer',
      'The QR code is answered by scanning it in the app, not here',
    );
  }
  if (step.type !== 'checkpoint') return;
  const wanted =
    step.checkpoint === 'PHONE_REGISTER' ? 'phone' : step.checkpoint === 'CONTRACT_CHOOSER' ? 'contract' : 'code';
  if ((kind === 'code' || kind === 'phone' || kind === 'contract') && kind !== wanted) {
    const field = wanted === 'contract' ? 'contractId' : wanted;
    throw new DomainError(
      'invalid',
      'invalid_request',
      `${field}: this ${step.checkpoint} checkpoint is answered with ${field}`,
    );
  }
}

export async function answerStep(deps: Deps, connectionId: string, body: StepBody): Promise<ConnectionAnswer> {
  const { db, temporal } = deps;
  const row = await rowOr404(deps, connectionId);
  const closed = (current: ConnectionRow): DomainError =>
    current.state === 'expired'
      ? new DomainError('expired', 'expired', 'The connection waited too long for this step; start a new one')
      : new DomainError('conflict', 'connection_finished', `The connection is ${current.state}; start a new one`);
  if (row.state !== 'pending') throw closed(row);
  const { kind, value } = answerOf(body);
  refuseMismatch(row.step, kind);
  // One answer at a time: the ciphertext is claimed only when no other answer to the step holds it (or one left
  // by a request that gave up long ago), so two answers never overwrite each other.
  const sealed = value !== undefined ? sealSecret(cipherOf(deps), row.id, 'answer', value) : undefined;
  if (sealed !== undefined) {
    const claimed = await db('connections')
      .where({ id: row.id, state: 'pending' })
      .where((q) =>
        q
          .whereNull('answer_ciphertext')
          .orWhereNull('answer_claimed_at')
          .orWhere('answer_claimed_at', '<', db.raw(`now() - make_interval(secs => ?)`, [ANSWER_STALE_SECONDS])),
      )
      .update({ answer_ciphertext: sealed, answer_claimed_at: db.fn.now() });
    if (claimed === 0) {
      const current = (await connectionById(db, row.id))!;
      if (current.state !== 'pending') throw closed(current);
      throw new DomainError(
        'busy',
        'step_busy',
        'Another answer to this step is being checked; retry once it is answered',
      );
    }
  }
  let result;
  try {
    result = await temporal.connection.withDeadline(Date.now() + STEP_WAIT_MS, () =>
      temporal.workflow.getHandle(connectionWorkflowId(row.id)).executeUpdate(answerConnectionStepUpdate, {
        args: [kind],
      }),
    );
  } catch (err) {
    // Only this request's own answer is erased: another one may hold the step now.
    if (sealed !== undefined)
      await db('connections').where({ id: row.id, answer_ciphertext: sealed }).update(ANSWER_ERASED);
    const current = (await connectionById(db, row.id))!;
    if (current.state !== 'pending') throw closed(current);
    if (err instanceof WorkflowUpdateFailedError)
      throw new DomainError('busy', 'step_busy', err.cause?.message ?? 'The step cannot take an answer now; retry');
    throw new DomainError('unavailable', 'unavailable', 'The connection could not be reached; retry later');
  }
  const current = (await connectionById(db, row.id))!;
  refuseOwned(result.step);
  if (result.outcome === 'wrong_code') {
    throw new DomainError(
      'invalid',
      'invalid_checkpoint_solution',
      'The code is wrong or expired; the step stays, try again',
    );
  }
  return present(deps, current, result.step);
}
