import { MockActivityEnvironment } from '@temporalio/testing';
import { createBookkeepingActivities } from '../../src/activities/bookkeeping';
import { CookieCipher } from '../../src/platform/cipher';
import { createMailer } from '../../src/email/mailer';
import { UnipileApi } from '../../src/unipile/unipile-api';
import { Stack, sleep } from '../helpers/stack';

// The email activity against the real database and a real SMTP peer: no email lost, none sent twice on purpose.
describe('email delivery', () => {
  const stack = new Stack({ workers: false });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const activities = (smtpUrl = stack.config.SMTP_URL, publicBaseUrl = stack.config.PUBLIC_BASE_URL) =>
    createBookkeepingActivities({
      db: stack.db,
      mailer: createMailer(smtpUrl),
      unipile: new UnipileApi(stack.sim.url, stack.apiKey, 5000),
      cipher: new CookieCipher(stack.config.COOKIE_ENCRYPTION_KEY),
      forwarding: { kick: () => undefined },
      publicBaseUrl,
      signingSecret: stack.config.SIGNING_SECRET,
      mailFrom: stack.config.MAIL_FROM,
      cookieStaleAfterMs: stack.config.COOKIE_STALE_AFTER,
      emailStaleAfterMs: stack.config.EMAIL_SEND_TIMEOUT * 1.5,
    });
  const send = (input: { accountId: string; incidentId: number; kind: 'reconnect_needed' | 'reminder'; seq: number }) =>
    new MockActivityEnvironment().run(activities().sendAccountEmail, input);

  async function account(userId: string, provider: string): Promise<string> {
    await stack.api$('PUT', `/api/users/${userId}`, { email: `${userId}@example.test`, name: 'Eve' });
    const id = `acc_${userId}`;
    await stack
      .db('accounts')
      .insert({ account_id: id, workflow_id: `account-${id}`, user_id: userId, account_type: provider });
    return id;
  }
  const mailsTo = (userId: string) => stack.smtp.messages.filter((m) => m.to.includes(`${userId}@example.test`));

  test('a send cut off between the claim and SMTP’s answer is re-sent with the same Message-ID, once', async () => {
    const accountId = await account('cutoff', 'WHATSAPP');
    const input = { accountId, incidentId: 1, kind: 'reconnect_needed' as const, seq: 0 };

    // The worker dies mid-send: SMTP never answers, the attempt is abandoned with its claim in place.
    stack.smtp.hold = true;
    void send(input).catch(() => undefined);
    await sleep(1000);
    stack.smtp.hold = false;
    // A fresh claim may still be a live send: the next try backs off instead of sending a second copy.
    await expect(send(input)).rejects.toThrow('email being sent by another attempt');
    expect(mailsTo('cutoff')).toHaveLength(0);

    // Later (the claim ages past any live send), the retry claims it again and sends.
    await stack
      .db('email_log')
      .where({ account_id: accountId })
      .update({ claimed_at: stack.db.raw("now() - interval '5 minutes'") });
    expect(await send(input)).toEqual({ outcome: 'sent' });
    expect(await send(input)).toEqual({ outcome: 'already_sent' });

    const mails = mailsTo('cutoff');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.messageId).toBe(`<${accountId}.1.reconnect_needed.0@127.0.0.1>`);
    const row = await stack.db('email_log').where({ account_id: accountId }).first();
    expect(row).toMatchObject({
      status: 'sent',
      send_attempts: 2,
      message_id: `<${accountId}.1.reconnect_needed.0@127.0.0.1>`,
    });
  });

  test('an exception while building the email leaves nothing claimed, and a provider named like a prototype key works', async () => {
    const accountId = await account('proto', 'constructor');
    const input = { accountId, incidentId: 1, kind: 'reconnect_needed' as const, seq: 0 };
    // A base URL that cannot be parsed makes building the message (its links, its Message-ID) throw.
    const unbuildable = activities(stack.config.SMTP_URL, 'not a url');
    const failure = await new MockActivityEnvironment()
      .run(unbuildable.sendAccountEmail, input)
      .then(() => null)
      .catch((e: Error) => e);
    const claims = await stack.db('email_log').where({ account_id: accountId });
    // (Errors from Node's URL come from another realm than jest's: matched by message, not by class.)
    expect(failure?.message).toMatch(/invalid url/i);
    expect(claims).toEqual([]); // nothing claimed: the retry is not blocked by a claim of its own
    expect(mailsTo('proto')).toHaveLength(0);
    // The retry, with the message buildable again, sends at once.
    expect(await send(input)).toEqual({ outcome: 'sent' });
    const [mail] = mailsTo('proto');
    expect(mail!.subject).toContain('constructor');
    expect(mail!.html).toContain('constructor');
    expect((await stack.db('email_log').where({ account_id: accountId }).first()).send_attempts).toBe(1);
  });

  test('SMTP refusing: the try fails and is retried; the retry sends it', async () => {
    const accountId = await account('refused', 'TELEGRAM');
    const input = { accountId, incidentId: 3, kind: 'reminder' as const, seq: 1 };
    const broken = activities('smtp://127.0.0.1:1'); // nothing listens there
    await expect(new MockActivityEnvironment().run(broken.sendAccountEmail, input)).rejects.toThrow('email not sent');
    expect(await send(input)).toEqual({ outcome: 'sent' });
    expect(mailsTo('refused')).toHaveLength(1);
    expect((await stack.db('email_log').where({ account_id: accountId }).first()).send_attempts).toBe(2);
  });
});
