import { openSession, sessionById, sessionForAccount, type SessionRow } from '../../linkedin/sessions';
import type { CookieCipher } from '../../platform/cipher';
import { UnipileCallError, type ConnectAnswer, type LinkedinCookieAuth } from '../../unipile/unipile-api';
import type { AttemptRecord } from '../../workflows/account/contract';
import type { ActivityDeps } from '../deps';

/** Outcome of a cookie connection or a checkpoint answer; carries ids and types only. */
export type ConnectOutcome =
  | { outcome: 'connected'; accountId: string }
  | { outcome: 'checkpoint'; accountId: string; checkpointType: string }
  | { outcome: 'wrong_code'; accountId: string }
  | { outcome: 'failed'; errorType: string };

/** The extension's latest cookies, decrypted here only, as Unipile's custom authentication with cookies. */
export function authOf(row: SessionRow, cipher: CookieCipher): LinkedinCookieAuth & { fingerprint: string } {
  const c = openSession(cipher, row);
  return {
    access_token: c.liAt,
    ...(c.liA ? { premium_token: c.liA } : {}),
    user_agent: c.userAgent,
    ...(c.country ? { country: c.country } : {}),
    ...(c.ip ? { ip: c.ip } : {}),
    fingerprint: c.fingerprint,
  };
}

function toOutcome(answer: ConnectAnswer): ConnectOutcome {
  if (answer.object === 'Checkpoint') {
    return {
      outcome: 'checkpoint',
      accountId: answer.account_id,
      checkpointType: answer.checkpoint?.type ?? 'UNKNOWN',
    };
  }
  return { outcome: 'connected', accountId: answer.account_id };
}

/** LinkedIn calls with the extension's cookies: background reconnects and first connections. */
export function createLinkedinUnipileActivities(deps: Pick<ActivityDeps, 'db' | 'unipile' | 'cipher'>) {
  const { db, unipile, cipher } = deps;

  return {
    /** One silent reconnect with the latest stored cookie. Transient failures throw; final answers return. */
    async reconnectLinkedin(input: {
      accountId: string;
      n: number;
      of: number;
    }): Promise<Pick<AttemptRecord, 'outcome' | 'errorType' | 'reason' | 'fingerprint'>> {
      const row = await sessionForAccount(db, input.accountId);
      if (!row) return { outcome: 'failed', errorType: 'no_cookie', reason: 'no extension cookie stored' };
      const { fingerprint, ...auth } = authOf(row, cipher);
      try {
        const answer = await unipile.reconnectLinkedin(input.accountId, auth);
        if (answer.object === 'Checkpoint') {
          // A background reconnect cannot answer a checkpoint: it counts as a failed attempt.
          const type = answer.checkpoint?.type ?? 'UNKNOWN';
          return { outcome: 'failed', errorType: 'checkpoint', reason: `checkpoint ${type}`, fingerprint };
        }
        await db('linkedin_sessions')
          .where({ id: row.id })
          .update({ status: 'OK', last_error: null, date_last_status_unipile: db.fn.now() });
        return { outcome: 'succeeded', fingerprint };
      } catch (err) {
        if (err instanceof UnipileCallError && !err.transient) {
          await db('linkedin_sessions').where({ id: row.id }).update({ last_error: err.type });
          return { outcome: 'failed', errorType: err.type, reason: err.message, fingerprint };
        }
        throw err;
      }
    },

    /** First connection of a session by custom authentication (POST /api/v1/accounts). */
    async connectLinkedin(input: { sessionId: string }): Promise<ConnectOutcome> {
      const row = await sessionById(db, input.sessionId);
      if (!row) throw new Error(`no LinkedIn session ${input.sessionId}`);
      const { fingerprint: _fingerprint, ...auth } = authOf(row, cipher);
      try {
        return toOutcome(await unipile.connectLinkedin(auth));
      } catch (err) {
        if (err instanceof UnipileCallError && !err.transient) return { outcome: 'failed', errorType: err.type };
        throw err;
      }
    },

    /** Sends the user's checkpoint code; a wrong code is an answer, not an error. */
    async solveLinkedinCheckpoint(input: {
      sessionId: string;
      accountId: string;
      code: string;
    }): Promise<ConnectOutcome> {
      try {
        return toOutcome(await unipile.solveCheckpoint(input.accountId, input.code));
      } catch (err) {
        if (err instanceof UnipileCallError && err.type === 'errors/invalid_checkpoint_solution') {
          return { outcome: 'wrong_code', accountId: input.accountId };
        }
        if (err instanceof UnipileCallError && !err.transient) return { outcome: 'failed', errorType: err.type };
        throw err;
      }
    },
  };
}
