import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { CookieCipher } from '../platform/cipher';
import { AccountOwnedError, claimAccount } from '../accounts/repository';
import { openSession, sessionById, sessionForAccount, type SessionRow } from '../linkedin/sessions';
import { checkpointRequiredEvent, enqueueBackendEvents } from '../backend-events/outbox';
import { receiveEvents, type Forwarding } from '../inbound/inbound-events';
import { UnipileCallError, type ConnectAnswer, type LinkedinCookieAuth, type UnipileApi } from '../unipile/unipile-api';
import { accountWorkflowId, type AttemptRecord } from '../workflows/account/contract';

export interface LinkedinDeps {
  db: Knex;
  unipile: UnipileApi;
  cipher: CookieCipher;
  /** Hands stored events to the account workflows (starting one for a newly connected account). */
  forwarding: Forwarding;
  /** Whether events for the customer's backend are written (BACKEND_WEBHOOK_URL set). */
  backendEvents?: boolean;
}

/** Outcome of a cookie connection or a checkpoint answer; carries ids and types only. */
export type ConnectOutcome =
  | { outcome: 'connected'; accountId: string }
  | { outcome: 'checkpoint'; accountId: string; checkpointType: string }
  | { outcome: 'wrong_code'; accountId: string }
  | { outcome: 'failed'; errorType: string };

/** How finishing a connection ended: the account linked to the user, or left alone as another user's. */
export type LinkOutcome = 'linked' | 'account_owned';

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

export function createLinkedinActivities(deps: LinkedinDeps) {
  const { db, unipile, cipher } = deps;

  async function session(sessionId: string): Promise<SessionRow> {
    const row = await sessionById(db, sessionId);
    if (!row) throw new Error(`no LinkedIn session ${sessionId}`);
    return row;
  }

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
      const row = await session(input.sessionId);
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

    /** Records where a connection stands on its session row (CHECKPOINT, failures, timeouts). */
    async recordConnectState(input: {
      sessionId: string;
      status: string;
      recovery: string;
      lastError?: string | null;
      checkpoint?: { accountId: string; type: string; expiresAt?: string } | null;
    }): Promise<void> {
      await db.transaction(async (trx) => {
        const [row] = (await trx('linkedin_sessions')
          .where({ id: input.sessionId })
          .update({
            status: input.status,
            recovery: input.recovery,
            last_error: input.lastError ?? null,
            checkpoint_account_id: input.checkpoint?.accountId ?? null,
            checkpoint_type: input.checkpoint?.type ?? null,
            checkpoint_expires_at: input.checkpoint?.expiresAt ?? null,
          })
          .returning(['user_id', 'linkedin_member_id'])) as { user_id: string; linkedin_member_id: string }[];
        if (deps.backendEvents && input.checkpoint && row) {
          await enqueueBackendEvents(trx, [
            checkpointRequiredEvent({ ...input.checkpoint, userId: row.user_id, memberId: row.linkedin_member_id }),
          ]);
        }
      });
    },

    /**
     * The account exists at Unipile: store it and tie the session to it, and tell its workflow (started if need
     * be) through the same stored events as any webhook: it now belongs to the user, and has this cookie. Another
     * user's account (the same LinkedIn member connected by someone else) is left alone: the session is marked
     * FAILED with `account_owned` and nothing is linked.
     */
    async finishLinkedinConnection(input: { sessionId: string; accountId: string }): Promise<LinkOutcome> {
      const row = await session(input.sessionId);
      const cookie = { fingerprint: row.cookie_fingerprint, at: row.date_last_cookie.toISOString() };
      const events = [
        {
          source: 'cookie_connection' as const,
          accountId: input.accountId,
          payload: { userId: row.user_id, provider: 'LINKEDIN', cookie },
        },
        { source: 'extension_cookie' as const, accountId: input.accountId, payload: cookie },
      ];
      try {
        await receiveEvents({ db, forwarding: deps.forwarding }, events, async (trx) => {
          await claimAccount(trx, {
            accountId: input.accountId,
            workflowId: accountWorkflowId(input.accountId),
            provider: 'LINKEDIN',
            userId: row.user_id,
          });
          await trx('linkedin_sessions').where({ id: row.id }).update({
            account_id: input.accountId,
            status: 'OK',
            recovery: 'NONE',
            last_error: null,
            checkpoint_account_id: null,
            checkpoint_type: null,
            checkpoint_expires_at: null,
            date_last_status_unipile: trx.fn.now(),
          });
        });
      } catch (err) {
        if (!(err instanceof AccountOwnedError)) throw err;
        await db('linkedin_sessions').where({ id: row.id }).update({
          status: 'FAILED',
          recovery: 'NONE',
          last_error: 'account_owned',
          checkpoint_account_id: null,
          checkpoint_type: null,
          checkpoint_expires_at: null,
        });
        log.warn('cookie connection refused: the account belongs to another user', { accountId: input.accountId });
        return 'account_owned';
      }
      log.info('LinkedIn account connected from extension cookies', { accountId: input.accountId });
      return 'linked';
    },
  };
}
