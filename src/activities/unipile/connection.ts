import type { Knex } from 'knex';
import { ANSWER_ERASED, openSecret, sealSecret, type ConnectionRow } from '../../connections/store';
import { sessionById } from '../../linkedin/sessions';
import type { CookieCipher } from '../../platform/cipher';
import { accountStatus, UnipileCallError, type ConnectAnswer } from '../../unipile/unipile-api';
import type { ConnectionAttempt, StepAnswerKind } from '../../workflows/connection/contract';
import { connectionRow, describeAccount, type ConnectedAccount } from '../common';
import type { ActivityDeps } from '../deps';
import { authOf } from './linkedin';

/** Unipile's answer as a step; a QR payload is stored encrypted for the API to show, never returned. */
async function attemptOf(
  db: Knex,
  cipher: CookieCipher,
  row: ConnectionRow,
  answer: ConnectAnswer,
): Promise<ConnectionAttempt> {
  if (answer.object !== 'Checkpoint') return { kind: 'connected', accountId: answer.account_id };
  const { type, source, contract_options: options, qrcode } = answer.checkpoint ?? { type: 'UNKNOWN' };
  if (type === 'QRCODE') {
    await db('connections')
      .where({ id: row.id })
      .update({ qrcode_ciphertext: qrcode ? sealSecret(cipher, row.id, 'qrcode', qrcode) : null });
    return { kind: 'qrcode', accountId: answer.account_id };
  }
  return {
    kind: 'checkpoint',
    accountId: answer.account_id,
    checkpoint: type,
    ...(source ? { source } : {}),
    ...(options ? { options: options.map((o) => ({ id: String(o.id), name: String(o.name) })) } : {}),
  };
}

/** Final answers become outcomes; transient ones are thrown, for the activity's retries. */
function failureOf(err: unknown): ConnectionAttempt {
  if (!(err instanceof UnipileCallError)) throw err;
  // 425: another intent runs for this account at Unipile; retrying within seconds would not help the user.
  if (err.status === 425) return { kind: 'failed', error: 'intent_in_progress' };
  if (err.type === 'errors/invalid_checkpoint_solution') return { kind: 'wrong_code' };
  if (err.type === 'errors/authentication_intent_error')
    return { kind: 'failed', error: 'authentication_intent_error' };
  if (err.transient) throw err;
  return { kind: 'failed', error: err.type.replace(/^errors\//, '') };
}

/**
 * Custom-authentication connections' calls to Unipile. They alone see what the user typed and Unipile's QR payloads:
 * read from the connection's row (encrypted), sent to Unipile, erased once used. The workflow gets ids and types.
 */
export function createConnectionUnipileActivities(deps: Pick<ActivityDeps, 'db' | 'unipile' | 'cipher'>) {
  const { db, unipile, cipher } = deps;

  /** A cookie connection: the extension's latest cookies, decrypted here only, as custom authentication. */
  async function startWithCookies(row: ConnectionRow, sessionId: string): Promise<ConnectionAttempt> {
    const session = await sessionById(db, sessionId);
    if (!session) return { kind: 'failed', error: 'no_session' };
    const { fingerprint: _fingerprint, ...auth } = authOf(session, cipher);
    try {
      return await attemptOf(db, cipher, row, await unipile.connectLinkedin(auth));
    } catch (err) {
      return failureOf(err);
    }
  }

  /** Credentials the user typed: sent once, then erased whatever Unipile answered (a new attempt is a new row). */
  async function startWithCredentials(row: ConnectionRow): Promise<ConnectionAttempt> {
    const fields = row.credentials_ciphertext
      ? (JSON.parse(openSecret(cipher, row.id, 'credentials', row.credentials_ciphertext)) as Record<
          string,
          string | number
        >)
      : {};
    const body = { ...fields, provider: row.provider };
    let attempt: ConnectionAttempt;
    try {
      const answer =
        row.kind === 'reconnect' && row.account_id
          ? await unipile.reconnectAccount(row.account_id, body)
          : await unipile.connectAccount(body);
      attempt = await attemptOf(db, cipher, row, answer);
    } catch (err) {
      attempt = failureOf(err);
    }
    await db('connections').where({ id: row.id }).update({ credentials_ciphertext: null });
    return attempt;
  }

  return {
    /** The first call: POST /api/v1/accounts (or /accounts/{id} to reconnect) with the stored credentials. */
    async startConnectionAttempt(input: { connectionId: string }): Promise<ConnectionAttempt> {
      const row = await connectionRow(db, input.connectionId);
      // The API gave up on starting it (and erased its secrets): the caller was told so; nothing goes to Unipile.
      if (row.state !== 'pending') return { kind: 'failed', error: 'not_started' };
      return row.session_id ? startWithCookies(row, String(row.session_id)) : startWithCredentials(row);
    },

    /** The user's answer to the current step, read from the row and erased once Unipile has answered it. */
    async answerConnectionStep(input: {
      connectionId: string;
      accountId: string;
      kind: StepAnswerKind;
    }): Promise<ConnectionAttempt> {
      const row = await connectionRow(db, input.connectionId);
      try {
        if (input.kind === 'resend') {
          await unipile.resendCheckpoint(input.accountId, row.provider);
          return { kind: 'unchanged' };
        }
        let code = 'TRY_ANOTHER_WAY';
        if (input.kind !== 'try_another_way') {
          if (!row.answer_ciphertext) return { kind: 'wrong_code' };
          code = openSecret(cipher, row.id, 'answer', row.answer_ciphertext);
        }
        const answer = await unipile.solveCheckpoint(input.accountId, code, row.provider);
        const attempt = await attemptOf(db, cipher, row, answer);
        await db('connections').where({ id: row.id }).update(ANSWER_ERASED);
        return attempt;
      } catch (err) {
        const attempt = failureOf(err);
        await db('connections').where({ id: row.id }).update(ANSWER_ERASED);
        return attempt;
      }
    },

    /** A QR code or an in-app validation: connected yet? A new QR code is kept (encrypted) for the API to show. */
    async pollConnection(input: { connectionId: string; accountId: string }): Promise<ConnectionAttempt> {
      const account = await unipile.getAccount(input.accountId);
      if (!account) return { kind: 'unchanged' };
      if (accountStatus(account) === 'OK') return { kind: 'connected', accountId: account.id };
      const qrcode = account.checkpoint?.type === 'QRCODE' ? account.checkpoint.qrcode : undefined;
      if (qrcode) {
        await db('connections')
          .where({ id: input.connectionId })
          .update({ qrcode_ciphertext: sealSecret(cipher, input.connectionId, 'qrcode', qrcode) });
      }
      return { kind: 'unchanged' };
    },

    /**
     * What Unipile says of the new account (its type and name), read on the Unipile task queue so it counts against
     * UNIPILE_MAX_RPS like every other call. A cookie connection reads it for the name only (emails name accounts).
     */
    async readConnectedAccount(input: { connectionId: string; accountId: string }): Promise<ConnectedAccount | null> {
      return describeAccount(unipile, input.accountId);
    },
  };
}
