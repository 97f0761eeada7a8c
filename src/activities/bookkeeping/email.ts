import { ApplicationFailure, log } from '@temporalio/activity';
import { findAccount, findUser, type AccountRow, type UserRow } from '../../accounts/repository';
import { composeAccountEmail } from '../../email/account-emails';
import { sessionForAccount } from '../../linkedin/sessions';
import { reconnectLinkPath } from '../../platform/tokens';
import type { EmailKind, EmailRecord } from '../../workflows/account/contract';
import type { ActivityDeps } from '../deps';

type EmailDeps = Pick<
  ActivityDeps,
  'db' | 'mailer' | 'publicBaseUrl' | 'signingSecret' | 'mailFrom' | 'cookieStaleAfterMs' | 'emailStaleAfterMs'
>;
interface EmailInput {
  accountId: string;
  incidentId: number;
  kind: EmailKind;
  seq: number;
}

export function createEmailActivities(deps: EmailDeps) {
  const { db, mailer } = deps;

  /** The email's words. An old extension cookie means the extension may be gone or signed out: the email says so. */
  async function compose(input: EmailInput, account: AccountRow, user: UserRow) {
    const cookies = account.account_type === 'LINKEDIN' ? await sessionForAccount(db, account.account_id) : undefined;
    const staleCookie = !!cookies && Date.now() - cookies.date_last_cookie.getTime() > deps.cookieStaleAfterMs;
    return composeAccountEmail({
      kind: input.kind,
      reminderNumber: input.seq,
      // The user's language (PUT /api/users/:userId `locale`); English when none is stored.
      locale: user.locale ?? null,
      userName: user.name,
      provider: account.account_type,
      accountName: account.name,
      accountId: account.account_id,
      reconnectUrl: `${deps.publicBaseUrl}${reconnectLinkPath(deps.signingSecret, account.account_id)}`,
      staleCookie,
    });
  }

  /**
   * Claims the email_log row for this send: a new row, a failed send, or a `sending` claim older than any live send
   * could be. Returns the send's attempt count, or null when the row is someone else's or already final.
   */
  async function claim(input: EmailInput, recipient: string): Promise<number | null> {
    const { rows } = await db.raw<{ rows: { send_attempts: number }[] }>(
      `insert into email_log (account_id, incident_id, kind, seq, status, recipient, claimed_at, send_attempts)
       values (?, ?, ?, ?, 'sending', ?, now(), 1)
       on conflict (account_id, incident_id, kind, seq) do update
         set status = 'sending', recipient = excluded.recipient, claimed_at = now(),
             send_attempts = email_log.send_attempts + 1
         where email_log.status = 'failed'
            or (email_log.status = 'sending'
                and coalesce(email_log.claimed_at, email_log.created_at) < now() - (? * interval '1 millisecond'))
       returning send_attempts`,
      [input.accountId, input.incidentId, input.kind, input.seq, recipient, deps.emailStaleAfterMs],
    );
    return rows[0]?.send_attempts ?? null;
  }

  return {
    /**
     * Sends one email of a kind per incident, at least once and never twice on purpose: the email_log row (unique
     * per account, incident, kind and reminder) is claimed before sending, so retries and duplicate webhooks find
     * it sent. A worker that died between the claim and SMTP's answer leaves the row `sending`; once that claim is
     * older than any live send could be, the next try claims it again and re-sends with the same Message-ID (mail
     * clients fold the two), counted in `send_attempts`.
     */
    async sendAccountEmail(input: EmailInput): Promise<Pick<EmailRecord, 'outcome'>> {
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
      const content = await compose(input, account, user);
      const messageId = `<${[input.accountId, input.incidentId, input.kind, input.seq].join('.')}@${
        new URL(deps.publicBaseUrl).hostname
      }>`;

      const sendAttempts = await claim(input, user.email);
      if (sendAttempts === null) {
        const row = await db('email_log').where(key).first();
        if (row?.status === 'sending') {
          // Another try holds a fresh claim (or died moments ago): come back once it is sent or stale.
          throw ApplicationFailure.retryable('email being sent by another attempt', 'EmailInFlight');
        }
        return { outcome: row?.status === 'no_contact' ? 'no_contact' : 'already_sent' };
      }
      if (sendAttempts > 1) {
        log.warn('re-sending an email whose earlier send did not finish', {
          accountId: input.accountId,
          kind: input.kind,
          sendAttempts,
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
