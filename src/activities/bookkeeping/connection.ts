import { log } from '@temporalio/activity';
import type { Knex } from 'knex';
import { AccountOwnedError, claimAccount } from '../../accounts/repository';
import { ERASED, type ConnectionRow } from '../../connections/store';
import { receiveEvents } from '../../inbound/inbound-events';
import { accountWorkflowId } from '../../workflows/account/contract';
import type { ConnectionStep } from '../../workflows/connection/contract';
import { connectionRow, describeAccount, type ConnectedAccount } from '../common';
import type { ActivityDeps } from '../deps';
import { connectedEvent, createLinkedinBookkeepingActivities, type LinkOutcome } from './linkedin';

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

interface StepRecord {
  connectionId: string;
  step: ConnectionStep;
  state: ConnectionRow['state'];
  accountId: string | null;
}

/** Custom-authentication connections' records: the connection's row, and the account once connected. */
export function createConnectionBookkeepingActivities(
  deps: Pick<ActivityDeps, 'db' | 'unipile' | 'forwarding' | 'backendEvents'>,
) {
  const { db, unipile } = deps;
  // A cookie connection keeps its LinkedIn session up to date the way the extension's answers read it.
  const linkedin = createLinkedinBookkeepingActivities(deps);

  /** Where a cookie connection stands, on its session row: what the cookie-sync answer and the connections list read. */
  async function recordOnSession(sessionId: string, input: StepRecord, expiresAt: string | null): Promise<void> {
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

  /** A credentials connection: the account row and its workflow, claimed for the user unless another owns it. */
  async function linkAccount(
    row: ConnectionRow,
    accountId: string,
    read: ConnectedAccount | null,
  ): Promise<LinkOutcome> {
    const provider = read?.provider ?? row.provider;
    const name = read?.name ?? null;
    try {
      await receiveEvents(
        { db, forwarding: deps.forwarding },
        [
          { source: 'custom_auth', accountId, payload: { userId: row.user_id, provider, name } },
          connectedEvent(accountId, provider, row.kind === 'reconnect' ? 'reconnect' : 'create'),
        ],
        async (trx) => {
          await claimAccount(trx, {
            accountId,
            workflowId: accountWorkflowId(accountId),
            provider,
            userId: row.user_id,
            name,
          });
          await markConnected(trx, row.id, accountId);
        },
      );
    } catch (err) {
      if (!(err instanceof AccountOwnedError)) throw err;
      log.warn('connection refused: the account belongs to another user', { connectionId: row.id, accountId });
      return 'account_owned';
    }
    log.info('account connected by custom authentication', { accountId, provider });
    return 'linked';
  }

  return {
    /** Where the connection stands, for GET /api/connections/:id; a final state erases every secret. */
    async recordConnectionStep(input: StepRecord): Promise<void> {
      const expiresAt = 'expiresAt' in input.step ? input.step.expiresAt : null;
      const row = await connectionRow(db, input.connectionId);
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
      const row = await connectionRow(db, input.connectionId);
      if (row.session_id) {
        // The session is tied to the account and the account's workflow hears of its cookie (the cookie flow's own
        // receipts); then the connection is done.
        const linked = await linkedin.finishLinkedinConnection({
          sessionId: String(row.session_id),
          accountId: input.accountId,
          name: input.account?.name ?? null,
        });
        if (linked === 'linked') await markConnected(db, row.id, input.accountId);
        return linked;
      }
      const read = input.account !== undefined ? input.account : await describeAccount(unipile, input.accountId);
      return linkAccount(row, input.accountId, read);
    },
  };
}
