import { log } from '@temporalio/activity';
import { AccountOwnedError, claimAccount } from '../../accounts/repository';
import { checkpointRequiredEvent, enqueueBackendEvents } from '../../backend-events/outbox';
import { receiveEvents } from '../../inbound/inbound-events';
import { sessionById } from '../../linkedin/sessions';
import { accountWorkflowId } from '../../workflows/account/contract';
import type { ActivityDeps } from '../deps';

/**
 * What Unipile's AccountCreated (or AccountReconnected) answer already told us, stored as a status event beside the
 * link: the account shows OK as soon as its workflow hears of it, not when Unipile's webhook (which may come late)
 * arrives; that webhook is then no transition. Source `api`: a status our own call to Unipile learnt.
 */
export function connectedEvent(accountId: string, provider: string, kind: 'create' | 'reconnect') {
  const message = kind === 'reconnect' ? 'RECONNECTED' : 'CREATION_SUCCESS';
  return {
    source: 'api' as const,
    accountId,
    payload: { AccountStatus: { account_id: accountId, account_type: provider, message } },
  };
}

/** How finishing a connection ended: the account linked to the user, or left alone as another user's. */
export type LinkOutcome = 'linked' | 'account_owned';

/** Where a LinkedIn session's cookie connection stands, on the session row the extension and the API read. */
export function createLinkedinBookkeepingActivities(deps: Pick<ActivityDeps, 'db' | 'forwarding' | 'backendEvents'>) {
  const { db } = deps;

  return {
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
    async finishLinkedinConnection(input: {
      sessionId: string;
      accountId: string;
      /** Unipile's name of the account, when the caller read it. */
      name?: string | null;
    }): Promise<LinkOutcome> {
      const row = await sessionById(db, input.sessionId);
      if (!row) throw new Error(`no LinkedIn session ${input.sessionId}`);
      const cookie = { fingerprint: row.cookie_fingerprint, at: row.date_last_cookie.toISOString() };
      const events = [
        {
          source: 'cookie_connection' as const,
          accountId: input.accountId,
          payload: { userId: row.user_id, provider: 'LINKEDIN', cookie },
        },
        { source: 'extension_cookie' as const, accountId: input.accountId, payload: cookie },
        connectedEvent(input.accountId, 'LINKEDIN', 'create'),
      ];
      try {
        await receiveEvents({ db, forwarding: deps.forwarding }, events, async (trx) => {
          await claimAccount(trx, {
            accountId: input.accountId,
            workflowId: accountWorkflowId(input.accountId),
            provider: 'LINKEDIN',
            userId: row.user_id,
            name: input.name ?? null,
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
