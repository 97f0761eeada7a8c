import { plainState } from '../../src/common/plain-state';
import { composeAccountEmail } from '../../src/email/account-emails';
import { secretEquals, signToken, verifyToken } from '../../src/platform/tokens';

describe('signed tokens', () => {
  const secret = 's3cret';
  test('round trip, purpose, expiry and tampering', () => {
    const t = signToken(secret, 'reconnect', 'acc-1', 60_000);
    expect(verifyToken(secret, 'reconnect', t)).toBe('acc-1');
    expect(verifyToken(secret, 'landing', t)).toBeNull();
    expect(verifyToken('other', 'reconnect', t)).toBeNull();
    expect(verifyToken(secret, 'reconnect', t, Date.now() + 120_000)).toBeNull();
    const [body, sig] = t.split('.');
    const forged = Buffer.from(JSON.stringify({ p: 'reconnect', sub: 'acc-2', exp: 9e9 })).toString('base64url');
    expect(verifyToken(secret, 'reconnect', `${forged}.${sig}`)).toBeNull();
    expect(verifyToken(secret, 'reconnect', `${body}`)).toBeNull();
    expect(verifyToken(secret, 'reconnect', undefined)).toBeNull();
  });

  test('secretEquals', () => {
    expect(secretEquals('abc', 'abc')).toBe(true);
    expect(secretEquals('abd', 'abc')).toBe(false);
    expect(secretEquals(undefined, 'abc')).toBe(false);
    expect(secretEquals('a', 'abc')).toBe(false);
  });
});

describe('account emails', () => {
  const input = {
    kind: 'reconnect_needed' as const,
    reminderNumber: 0,
    locale: null,
    userName: 'Ada <admin>',
    provider: 'LINKEDIN',
    accountName: 'Ada L.',
    accountId: 'acc-1',
    reconnectUrl: 'https://x.example/accounts/acc-1/reconnect?token=t',
    staleCookie: false,
  };

  test('names provider and account, links to the reconnect page, text and HTML', () => {
    const mail = composeAccountEmail(input);
    expect(mail.subject).toBe('Action needed: reconnect your LinkedIn account');
    expect(mail.text).toContain('LinkedIn account "Ada L."');
    expect(mail.text).toContain(input.reconnectUrl);
    expect(mail.html).toContain(`href="${input.reconnectUrl}"`);
    expect(mail.html).toContain('Ada &lt;admin&gt;');
    expect(mail.text).not.toContain('extension');
  });

  test('a stale cookie asks the user to check the extension; reminders say so', () => {
    expect(composeAccountEmail({ ...input, staleCookie: true }).text).toContain('browser extension');
    expect(composeAccountEmail({ ...input, kind: 'reminder' }).subject).toMatch(/^Reminder/);
  });
});

describe('the landing page in plain words', () => {
  test('each state reads as what it means to a person', () => {
    expect(plainState('OK', 'NONE').label).toBe('Connected');
    expect(plainState('PENDING', 'NONE').label).toBe('Connecting…');
    expect(plainState('ERROR', 'RETRYING').label).toBe('Reconnecting automatically…');
    expect(plainState('CREDENTIALS', 'WAITING_FOR_USER').label).toBe('Needs you to reconnect');
    expect(plainState('ERROR', 'WAITING_FOR_USER').label).toBe('Needs you to reconnect');
    expect(plainState('CREDENTIALS', 'CHECKPOINT').label).toBe('Waiting for a verification code');
    expect(plainState('DELETED', 'NONE').label).toBe('Removed');
  });
});
