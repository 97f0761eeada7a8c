import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import {
  ANSWER_ERASED,
  connectionById,
  ERASED,
  openSecret,
  sealSecret,
  type ConnectionRow,
} from '../connections/store';
import { AccountOwnedError, claimAccount } from '../accounts/repository';
import { receiveEvents } from '../inbound/inbound-events';
import { accountStatus, UnipileCallError, type ConnectAnswer } from '../unipile/unipile-api';
import { accountWorkflowId } from '../workflows/account/contract';
import { type ConnectionAttempt, type ConnectionStep, type StepAnswerKind } from '../workflows/connection/contract';
import { sessionById } from '../linkedin/sessions';
import { authOf, createLinkedinActivities, type LinkedinDeps, type LinkOutcome } from './linkedin-activities';

/** Unipile's type and name of a newly connected account (nulls where Unipile did not say). */
export interface ConnectedAccount {
  provider: string | null;
  name: string | null;
}

/** The connection's last state: connected to its account, every secret erased. */
async function markConnected(db: Knex, connectionId: string, accountId: string): Promise<void> {
  await db('connections')
    .where({ id: connectionId })
    .update({
      step: JSON.stringify({ type: 'connected', accountId }),
      state: 'connected',
      account_id: accountId,
      expires_at: null,
      ...ERASED,
      updated_at: db.fn.now(),
    });
}

/**
 * Activities of custom-authentication connections. They alone see what the user typed and Unipile's QR payloads:
 * read from the connection's row (encrypted), sent to Unipile, erased once used. The workflow gets ids and types.
 */
export function createConnectionActivities(deps: LinkedinDeps) {
  const { db, unipile, cipher } = deps;
  // A cookie connection keeps its LinkedIn session up to date the way the extension's answers read it.
  const linkedin = createLinkedinActivities(deps);

  async function describeAccount(accountId: string): Promise<ConnectedAccount> {
    const account = await unipile.getAccount(accountId);
    return { provider: account?.type ?? null, name: account?.name?.slice(0, 256) ?? null };
  }

  async function connection(id: string): Promise<ConnectionRow> {
    const row = await connectionById(db, id);
    if (!row) throw new Error(`no connection ${id}`);
    return row;
  }

  /** Unipile's answer as a step; a QR payload is stored encrypted for the API to show, never returned. */
  async function attemptOf(row: ConnectionRow, answer: ConnectAnswer): Promise<ConnectionAttempt> {
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

  /** Where a cookie connection stands, on its session row: what the cookie-sync answer and the connections list read. */
  async function recordOnSession(
    sessionId: string,
    input: { step: ConnectionStep; state: ConnectionRow['state']; accountId: string | null },
    expiresAt: string | null,
  ): Promise<void> {
    const { step, state } = input;
    if (step.type === 'checkpoint' || step.type === 'qrcode') {
      await linkedin.recordConnectState({
        sessionId,
        status: 'CHECKPOINT',
        recovery: 'CHECKPOINT',
        checkpoint: {
          accountId: input.accountId ?? '',
          type: step.type === 'checkpoint' ? step.checkpoint : 'QRCODE',
          ...(expiresAt ? { expiresAt } : {}),
        },
      });
    } else if (state === 'expired') {
      await linkedin.recordConnectState({
        sessionId,
        status: 'CHECKPOINT_TIMEOUT',
        recovery: 'NONE',
        lastError: 'checkpoint_timeout',
      });
    } else if (step.type === 'failed') {
      await linkedin.recordConnectState({ sessionId, status: 'FAILED', recovery: 'NONE', lastError: step.error });
    }
  }

  return {
    /** The first call: POST /api/v1/accounts (or /accounts/{id} to reconnect) with the stored credentials. */
    async startConnectionAttempt(input: { connectionId: string }): Promise<ConnectionAttempt> {
      const row = await connection(input.connectionId);
      // The API gave up on starting it (and erased its secrets): the caller was told so; nothing goes to Unipile.
      if (row.state !== 'pending') return { kind: 'failed', error: 'not_started' };
      if (row.session_id) {
        // The extension's latest cookies, decrypted here only, as custom authentication with cookies.
        const session = await sessionById(db, String(row.session_id));
        if (!session) return { kind: 'failed', error: 'no_session' };
        const { fingerprint: _fingerprint, ...auth } = authOf(session, cipher);
        try {
          return await attemptOf(row, await unipile.connectLinkedin(auth));
        } catch (err) {
          return failureOf(err);
        }
      }
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
        attempt = await attemptOf(row, answer);
      } catch (err) {
        attempt = failureOf(err);
      }
      // Unipile has answered: the password is no longer needed (a new attempt is a new connection).
      await db('connections').where({ id: row.id }).update({ credentials_ciphertext: null });
      return attempt;
    },

    /** The user's answer to the current step, read from the row and erased once Unipile has answered it. */
    async answerConnectionStep(input: {
      connectionId: string;
      accountId: string;
      kind: StepAnswerKind;
    }): Promise<ConnectionAttempt> {
      const row = await connection(input.connectionId);
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
        const attempt = await attemptOf(row, await unipile.solveCheckpoint(input.accountId, code, row.provider));
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

    /** Where the connection stands, for GET /api/connections/:id; a final state erases every secret. */
    async recordConnectionStep(input: {
      connectionId: string;
      step: ConnectionStep;
      state: ConnectionRow['state'];
      accountId: string | null;
    }): Promise<void> {
      const expiresAt = 'expiresAt' in input.step ? input.step.expiresAt : null;
      const row = await connection(input.connectionId);
      if (row.session_id) await recordOnSession(String(row.session_id), input, expiresAt);
      await db('connections')
        .where({ id: input.connectionId })
        .update({
          step: JSON.stringify(input.step),
          state: input.state,
          expires_at: expiresAt,
          ...(input.accountId ? { account_id: input.accountId } : {}),
          ...(input.state === 'pending' ? {} : ERASED),
          updated_at: db.fn.now(),
        });
    },

    /**
     * What Unipile says of the new account (its type and name), read on the Unipile task queue so it counts against
     * UNIPILE_MAX_RPS like every other call. A cookie connection needs nothing from Unipile here.
     */
    async readConnectedAccount(input: { connectionId: string; accountId: string }): Promise<ConnectedAccount | null> {
      const row = await connection(input.connectionId);
      return row.session_id ? null : describeAccount(input.accountId);
    },

    /**
     * Unipile accepted the last step: the account row and its long-lived workflow, exactly as after hosted auth,
     * owned by the connection's user. `account` is what readConnectedAccount found (null: nothing known, the
     * connection's provider stands); runs started before that activity existed pass none, and it is read here.
     * An account another user owns (Unipile answers with the existing account of a login someone else connected)
     * is left untouched, nothing is linked, and `account_owned` is returned for the workflow to end on.
     */
    async finishConnection(input: {
      connectionId: string;
      accountId: string;
      account?: ConnectedAccount | null;
    }): Promise<LinkOutcome> {
      const row = await connection(input.connectionId);
      if (row.session_id) {
        // The session is tied to the account and the account's workflow hears of its cookie (the cookie flow's own
        // receipts); then the connection is done.
        const linked = await linkedin.finishLinkedinConnection({
          sessionId: String(row.session_id),
          accountId: input.accountId,
        });
        if (linked === 'linked') await markConnected(db, row.id, input.accountId);
        return linked;
      }
      const read = input.account !== undefined ? input.account : await describeAccount(input.accountId);
      const provider = read?.provider ?? row.provider;
      const name = read?.name ?? null;
      try {
        await receiveEvents(
          { db, forwarding: deps.forwarding },
          [{ source: 'custom_auth', accountId: input.accountId, payload: { userId: row.user_id, provider, name } }],
          async (trx) => {
            await claimAccount(trx, {
              accountId: input.accountId,
              workflowId: accountWorkflowId(input.accountId),
              provider,
              userId: row.user_id,
              name,
            });
            await markConnected(trx, row.id, input.accountId);
          },
        );
      } catch (err) {
        if (!(err instanceof AccountOwnedError)) throw err;
        log.warn('connection refused: the account belongs to another user', {
          connectionId: row.id,
          accountId: input.accountId,
        });
        return 'account_owned';
      }
      log.info('account connected by custom authentication', { accountId: input.accountId, provider });
      return 'linked';
    },
  };
}
