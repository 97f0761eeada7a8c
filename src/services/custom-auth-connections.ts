// Custom-authentication connections as the backend API sees them (SPEC §10.4): start one (its workflow answers the
// first step synchronously), read where it stands, answer a step. Secrets go to the connection's row, encrypted,
// and from there to the activity that sends them to Unipile; the workflow and its history only see kinds and ids.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { HttpError } from '../api/http-errors';
import type { ApiDeps } from '../api/deps';
import type { ConnectionBody, StepBody } from '../connections/connection-input';
import { CookieCipher } from '../cookies/cookie-cipher';
import { connectionById, newConnectionId, openSecret, sealSecret, type ConnectionRow } from '../db/connections';
import {
  answerConnectionStepUpdate,
  awaitConnectionStepUpdate,
  CONNECTION_WORKFLOW_TYPE,
  connectionWorkflowId,
  type ConnectionStep,
  type ConnectionWorkflowFn,
  type StepAnswerKind,
} from '../workflows/definitions';

type Deps = Pick<ApiDeps, 'db' | 'config' | 'temporal' | 'logger'>;

/** How long the API waits for Unipile's answer to a step before telling the client to look again. */
const STEP_WAIT_MS = 60_000;

export interface ConnectionAnswer {
  connectionId: string;
  step: ConnectionStep & { qrcode?: string };
}

const cipherOf = (deps: Deps) => new CookieCipher(deps.config.COOKIE_ENCRYPTION_KEY);

/** The step with, for a QR code, the payload to show (decrypted from the row, never kept in the workflow). */
function present(deps: Deps, row: ConnectionRow, step: ConnectionStep): ConnectionAnswer {
  if (step.type === 'qrcode' && row.qrcode_ciphertext) {
    const qrcode = openSecret(cipherOf(deps), row.id, 'qrcode', row.qrcode_ciphertext);
    return { connectionId: row.id, step: { ...step, qrcode } };
  }
  return { connectionId: row.id, step };
}

async function rowOr404(deps: Deps, connectionId: string): Promise<ConnectionRow> {
  const row = await connectionById(deps.db, connectionId);
  if (!row) throw new HttpError(404, 'not_found', `No connection ${connectionId}`);
  return row;
}

/** A new connection: its row, then its workflow (the caller decides what a failure to start means). */
export async function launchConnection(
  deps: Pick<Deps, 'db' | 'config' | 'temporal'>,
  row: Pick<ConnectionRow, 'id' | 'user_id' | 'provider' | 'kind'> &
    Partial<Pick<ConnectionRow, 'account_id' | 'session_id' | 'credentials_ciphertext'>>,
  summary: string,
) {
  const { db, config, temporal } = deps;
  await db('connections').insert({ ...row, step: JSON.stringify({ type: 'connecting' }) });
  return temporal.connection.withDeadline(Date.now() + 5000, () =>
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
}

export async function startConnection(
  deps: Deps,
  input: { userId: string; body: ConnectionBody; reconnect?: string },
): Promise<ConnectionAnswer> {
  const { db, temporal } = deps;
  const id = newConnectionId();
  const { provider, ...fields } = input.body;
  let view;
  try {
    const handle = await launchConnection(
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
    view = await temporal.connection.withDeadline(Date.now() + STEP_WAIT_MS, () =>
      handle.executeUpdate(awaitConnectionStepUpdate, { args: [0] }),
    );
  } catch (err) {
    // Not started, or Unipile slow: the step may be there already; otherwise the client reads it later.
    deps.logger.warn({ connectionId: id, err: (err as Error).message }, 'connection did not answer in time');
    const row = await connectionById(db, id);
    if (row && row.step.type !== 'connecting') return present(deps, row, row.step);
    throw new HttpError(503, 'unavailable', `Connection ${id} has no answer from Unipile yet; GET it again`);
  }
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
    throw new HttpError(409, 'nothing_to_answer', 'The QR code is answered by scanning it in the app, not here');
  }
  if (step.type !== 'checkpoint') return;
  const wanted =
    step.checkpoint === 'PHONE_REGISTER' ? 'phone' : step.checkpoint === 'CONTRACT_CHOOSER' ? 'contract' : 'code';
  if ((kind === 'code' || kind === 'phone' || kind === 'contract') && kind !== wanted) {
    const field = wanted === 'contract' ? 'contractId' : wanted;
    throw new HttpError(
      400,
      'invalid_request',
      `${field}: this ${step.checkpoint} checkpoint is answered with ${field}`,
    );
  }
}

export async function answerStep(deps: Deps, connectionId: string, body: StepBody): Promise<ConnectionAnswer> {
  const { db, temporal } = deps;
  const row = await rowOr404(deps, connectionId);
  const closed = (current: ConnectionRow): HttpError =>
    current.state === 'expired'
      ? new HttpError(410, 'expired', 'The connection waited too long for this step; start a new one')
      : new HttpError(409, 'connection_finished', `The connection is ${current.state}; start a new one`);
  if (row.state !== 'pending') throw closed(row);
  const { kind, value } = answerOf(body);
  refuseMismatch(row.step, kind);
  if (value !== undefined)
    await db('connections')
      .where({ id: row.id })
      .update({ answer_ciphertext: sealSecret(cipherOf(deps), row.id, 'answer', value) });
  let result;
  try {
    result = await temporal.connection.withDeadline(Date.now() + STEP_WAIT_MS, () =>
      temporal.workflow.getHandle(connectionWorkflowId(row.id)).executeUpdate(answerConnectionStepUpdate, {
        args: [kind],
      }),
    );
  } catch (err) {
    await db('connections').where({ id: row.id }).update({ answer_ciphertext: null });
    const current = (await connectionById(db, row.id))!;
    if (current.state !== 'pending') throw closed(current);
    if (err instanceof WorkflowUpdateFailedError)
      throw new HttpError(409, 'step_busy', err.cause?.message ?? 'The step cannot take an answer now; retry');
    throw new HttpError(503, 'unavailable', 'The connection could not be reached; retry later');
  }
  const current = (await connectionById(db, row.id))!;
  if (result.outcome === 'wrong_code') {
    throw new HttpError(422, 'invalid_checkpoint_solution', 'The code is wrong or expired; the step stays, try again');
  }
  return present(deps, current, result.step);
}
