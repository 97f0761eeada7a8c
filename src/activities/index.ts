import { ApplicationFailure, log } from '@temporalio/activity';
import type { Mailer } from '../email/mailer';
import { composeAccountEmail } from '../email/account-emails';
import { appendAccountEvents, findAccount, findUser, upsertAccount } from '../accounts/repository';
import { sessionForAccount } from '../linkedin/sessions';
import { createLinkedinActivities, type LinkedinDeps } from './linkedin-activities';
import { createConnectionActivities } from './connection-activities';
import { reconnectLinkPath } from '../platform/tokens';
import { enqueueBackendEvents, eventsFromJournal } from '../backend-events/outbox';
import { UnipileCallError } from '../unipile/unipile-api';
import type { AccountView, AttemptRecord, EmailKind, EmailRecord, JournalEntry } from '../workflows/account/contract';

export interface ActivityDeps extends LinkedinDeps {
  mailer: Mailer;
  publicBaseUrl: string;
  signingSecret: string;
  mailFrom: string;
  cookieStaleAfterMs: number;
  /** A send claimed longer ago than this cannot still be running (1.5× the email activity's timeout). */
  emailStaleAfterMs: number;
}

type AttemptResult = Pick<AttemptRecord, 'outcome' | 'errorType' | 'reason'>;

/** Activities get their dependencies from this factory, so tests and the worker wire them explicitly. */
export function createActivities(deps: ActivityDeps) {
  const { db, unipile, mailer } = deps;

  return {
    ...createLinkedinActivities(deps),
    ...createConnectionActivities(deps),

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
        // The backend hears of a recovery change: read what it was, under the row lock the upsert takes anyway.
        const previous = deps.backendEvents
          ? ((await trx('accounts').where({ account_id: input.accountId }).forUpdate().first('recovery')) as
              { recovery: string } | undefined)
          : undefined;
        await upsertAccount(trx, input);
        await appendAccountEvents(trx, input.accountId, input.entries);
        if (deps.backendEvents) {
          const account = { ...input, userId: input.userId ?? null, provider: input.provider ?? null };
          await enqueueBackendEvents(trx, eventsFromJournal(account, input.entries, previous?.recovery ?? null));
        }
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
     * Sends one email of a kind per incident, at least once and never twice on purpose: the email_log row (unique
     * per account, incident, kind and reminder) is claimed before sending, so retries and duplicate webhooks find
     * it sent. A worker that died between the claim and SMTP's answer leaves the row `sending`; once that claim is
     * older than any live send could be, the next try claims it again and re-sends with the same Message-ID (mail
     * clients fold the two), counted in `send_attempts`.
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

      // Built before anything is claimed: a failure here leaves no row behind that would block the retry.
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
        reconnectUrl: `${deps.publicBaseUrl}${reconnectLinkPath(deps.signingSecret, account.account_id)}`,
        staleCookie,
      });
      const messageId = `<${[input.accountId, input.incidentId, input.kind, input.seq].join('.')}@${
        new URL(deps.publicBaseUrl).hostname
      }>`;

      const { rows: claimed } = await db.raw<{ rows: { send_attempts: number }[] }>(
        `insert into email_log (account_id, incident_id, kind, seq, status, recipient, claimed_at, send_attempts)
         values (?, ?, ?, ?, 'sending', ?, now(), 1)
         on conflict (account_id, incident_id, kind, seq) do update
           set status = 'sending', recipient = excluded.recipient, claimed_at = now(),
               send_attempts = email_log.send_attempts + 1
           where email_log.status = 'failed'
              or (email_log.status = 'sending'
                  and coalesce(email_log.claimed_at, email_log.created_at) < now() - (? * interval '1 millisecond'))
         returning send_attempts`,
        [input.accountId, input.incidentId, input.kind, input.seq, user.email, deps.emailStaleAfterMs],
      );
      if (claimed.length === 0) {
        const row = await db('email_log').where(key).first();
        if (row?.status === 'sending') {
          // Another try holds a fresh claim (or died moments ago): come back once it is sent or stale.
          throw ApplicationFailure.retryable('email being sent by another attempt', 'EmailInFlight');
        }
        return { outcome: row?.status === 'no_contact' ? 'no_contact' : 'already_sent' };
      }
      if (claimed[0]!.send_attempts > 1) {
        log.warn('re-sending an email whose earlier send did not finish', {
          accountId: input.accountId,
          kind: input.kind,
          sendAttempts: claimed[0]!.send_attempts,
        });
      }
      try {
        await mailer.send({ from: deps.mailFrom, to: user.email, messageId, ...content });
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
export type { ReconcileActivities } from './reconcile-activities';
