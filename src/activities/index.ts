import { ApplicationFailure, log } from '@temporalio/activity';
import type { Mailer } from '../email/mailer';
import { composeAccountEmail } from '../email/account-emails';
import { appendAccountEvents, findAccount, findUser, upsertAccount } from '../db/repository';
import { sessionForAccount } from '../db/linkedin-sessions';
import { createLinkedinActivities, type LinkedinDeps } from './linkedin-activities';
import { signToken } from '../tokens';
import { UnipileCallError } from '../unipile/unipile-api';
import type { AccountView, AttemptRecord, EmailKind, EmailRecord, JournalEntry } from '../workflows/definitions';

export interface ActivityDeps extends LinkedinDeps {
  mailer: Mailer;
  publicBaseUrl: string;
  signingSecret: string;
  mailFrom: string;
  cookieStaleAfterMs: number;
}

/** Email links stay valid this long; the page they open makes a fresh hosted link on every click. */
const RECONNECT_LINK_TTL_MS = 30 * 24 * 3_600_000;

export function reconnectPageUrl(publicBaseUrl: string, signingSecret: string, accountId: string): string {
  const token = signToken(signingSecret, 'reconnect', accountId, RECONNECT_LINK_TTL_MS);
  return `${publicBaseUrl}/accounts/${encodeURIComponent(accountId)}/reconnect?token=${token}`;
}

type AttemptResult = Pick<AttemptRecord, 'outcome' | 'errorType' | 'reason'>;

/** Activities get their dependencies from this factory, so tests and the worker wire them explicitly. */
export function createActivities(deps: ActivityDeps) {
  const { db, unipile, mailer } = deps;

  return {
    ...createLinkedinActivities(deps),

    /**
     * Writes the account row (with the workflow's view, which backend reads answer from) and appends the
     * workflow's new journal entries to the event history.
     */
    async recordAccountState(input: {
      accountId: string;
      workflowId: string;
      provider: string | null;
      userId: string | null;
      status: string;
      recovery: string;
      entries: JournalEntry[];
      view?: AccountView;
    }): Promise<void> {
      if (input.entries.length === 0) return upsertAccount(db, input);
      await db.transaction(async (trx) => {
        await upsertAccount(trx, input);
        await appendAccountEvents(trx, input.accountId, input.entries);
      });
    },

    /** One Unipile restart. Transient failures throw (the activity retries); final answers are returned. */
    async restartAccount(input: { accountId: string; n: number; of: number }): Promise<AttemptResult> {
      try {
        const answer = await unipile.restartAccount(input.accountId);
        return answer === 'restarted'
          ? { outcome: 'succeeded' }
          : { outcome: 'failed', errorType: 'AccountFailedToRestart', reason: 'Unipile could not restart the account' };
      } catch (err) {
        if (err instanceof UnipileCallError && !err.transient) {
          return { outcome: 'failed', errorType: err.type, reason: err.message };
        }
        throw err;
      }
    },

    /**
     * Sends one email of a kind per incident. The email_log row is claimed before sending, so retries, crashes
     * and duplicate webhooks never send it twice (a crash between claim and send means it is not sent).
     */
    async sendAccountEmail(input: {
      accountId: string;
      incidentId: number;
      kind: EmailKind;
      seq: number;
    }): Promise<Pick<EmailRecord, 'outcome'>> {
      const key = { account_id: input.accountId, incident_id: input.incidentId, kind: input.kind, seq: input.seq };
      const account = await findAccount(db, input.accountId);
      const user = account?.user_id ? await findUser(db, account.user_id) : undefined;
      if (!account || !user) {
        await db('email_log')
          .insert({ ...key, status: 'no_contact' })
          .onConflict(['account_id', 'incident_id', 'kind', 'seq'])
          .ignore();
        log.warn('no contact on file; email not sent', { accountId: input.accountId, kind: input.kind });
        return { outcome: 'no_contact' };
      }

      const claimed = await db('email_log')
        .insert({ ...key, status: 'sending', recipient: user.email })
        .onConflict(['account_id', 'incident_id', 'kind', 'seq'])
        .ignore()
        .returning('id');
      if (claimed.length === 0) {
        // Only a send that failed cleanly may be tried again.
        const reclaimed = await db('email_log')
          .where({ ...key, status: 'failed' })
          .update({ status: 'sending' })
          .returning('id');
        if (reclaimed.length === 0) return { outcome: 'already_sent' };
      }

      // An old extension cookie means the extension may be gone or signed out: the email says so.
      const cookies = account.account_type === 'LINKEDIN' ? await sessionForAccount(db, account.account_id) : undefined;
      const staleCookie = !!cookies && Date.now() - cookies.date_last_cookie.getTime() > deps.cookieStaleAfterMs;
      const content = composeAccountEmail({
        kind: input.kind,
        reminderNumber: input.seq,
        userName: user.name,
        provider: account.account_type,
        accountName: account.name,
        accountId: account.account_id,
        reconnectUrl: reconnectPageUrl(deps.publicBaseUrl, deps.signingSecret, account.account_id),
        staleCookie,
      });
      try {
        const { messageId } = await mailer.send({ from: deps.mailFrom, to: user.email, ...content });
        await db('email_log').where(key).update({ status: 'sent', message_id: messageId, sent_at: db.fn.now() });
        return { outcome: 'sent' };
      } catch (err) {
        await db('email_log').where(key).update({ status: 'failed' });
        throw ApplicationFailure.retryable(`email not sent: ${(err as Error).message}`, 'EmailFailed');
      }
    },
  };
}

export type AccountActivities = ReturnType<typeof createActivities>;
