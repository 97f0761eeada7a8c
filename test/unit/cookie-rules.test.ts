import { randomBytes } from 'node:crypto';
import { createCipheriv } from 'node:crypto';
import { CookieCipher, CookieDecryptError, cookieAad, cookieFingerprint } from '../../src/platform/cipher';
import { applyAttempt, applyInbound, initialState, manualAttempt, nextStep } from '../../src/workflows/account/state';
import type { AccountState, AttemptRecord, RecoveryPolicy } from '../../src/workflows/account/contract';

const policy: RecoveryPolicy = {
  retryIntervalMs: 3_600_000,
  maxRetries: 4,
  reminderScheduleMs: [],
  cookieStaleAfterMs: 1,
};
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(ms).toISOString();
const status = (s: AccountState, message: string) =>
  applyInbound(s, { type: 'status', event: { message, receivedAt: at(T0) } }, T0);
const cookie = (s: AccountState, fingerprint: string, now = T0) =>
  applyInbound(s, { type: 'cookie', cookie: { fingerprint, at: at(now) } }, now);
const failed = (trigger: AttemptRecord['trigger'], fingerprint: string, when = T0): AttemptRecord => ({
  n: 1,
  of: 5,
  action: 'reconnect',
  trigger,
  at: at(when),
  outcome: 'failed',
  errorType: 'errors/invalid_credentials',
  fingerprint,
});
const linkedin = (withCookie: boolean) =>
  status(
    initialState({
      accountId: 'a',
      provider: 'LINKEDIN',
      userId: 'u',
      cookie: withCookie ? { fingerprint: 'f1', at: at(T0) } : null,
    }),
    'OK',
  );

describe('LinkedIn incidents with extension cookies', () => {
  test('needs-auth with a cookie reconnects silently; without one it emails', () => {
    expect(status(linkedin(true), 'CREDENTIALS').incident).toMatchObject({ action: 'reconnect' });
    expect(status(linkedin(true), 'CREDENTIALS').recovery).toBe('RETRYING');
    expect(status(linkedin(false), 'CREDENTIALS').incident).toMatchObject({ action: 'none' });
    expect(nextStep(status(linkedin(true), 'CREDENTIALS'), policy, T0)).toMatchObject({
      type: 'attempt',
      action: 'reconnect',
      n: 1,
    });
  });

  test('sync errors still restart, cookie or not', () => {
    expect(status(linkedin(true), 'ERROR').incident).toMatchObject({ action: 'restart' });
  });

  test('a different cookie triggers one extra attempt at once; the same cookie re-sent does not', () => {
    let s = status(linkedin(true), 'CREDENTIALS');
    s = applyAttempt(s, failed('schedule', 'f1'), T0);
    expect(nextStep(s, policy, T0 + 1000)).toMatchObject({ type: 'wait' });
    expect(cookie(s, 'f1', T0 + 1000).incident?.newCookiePending).toBe(false);
    s = cookie(s, 'f2', T0 + 1000);
    expect(nextStep(s, policy, T0 + 1000)).toMatchObject({ type: 'attempt', trigger: 'new_cookie' });
    s = cookie(s, 'f3', T0 + 1000); // one extra attempt at a time
    s = applyAttempt(s, failed('new_cookie', 'f3', T0 + 1000), T0 + 1000);
    expect(s.incident?.newCookiePending).toBe(false);
    // The extra attempt does not move the schedule: attempt 2 is still due one interval after attempt 1.
    expect(nextStep(s, policy, T0 + 2000)).toMatchObject({
      type: 'wait',
      until: T0 + 3_600_000,
      summary: 'reconnect attempt 2/5',
    });
    expect(s.incident?.triedCookies).toEqual(['f1', 'f3']);
  });

  test('a cookie already tried in this incident is not tried again; a new one is', () => {
    let s = status(linkedin(true), 'CREDENTIALS');
    s = applyAttempt(s, failed('schedule', 'f1'), T0);
    s = cookie(s, 'f2', T0 + 1000);
    s = applyAttempt(s, failed('new_cookie', 'f2', T0 + 1000), T0 + 1000);
    // Nothing pending now, and the current cookie is f2: f1 comes back (the user signed in to the old session).
    expect(s.incident?.newCookiePending).toBe(false);
    const tried = cookie(s, 'f1', T0 + 2000);
    expect(tried.incident?.newCookiePending).toBe(false);
    expect(nextStep(tried, policy, T0 + 2000)).toMatchObject({ type: 'wait', purpose: 'attempt' });
    // The control: a cookie never tried, in the same state, does get its attempt.
    const fresh = cookie(s, 'f9', T0 + 2000);
    expect(fresh.incident?.newCookiePending).toBe(true);
    expect(nextStep(fresh, policy, T0 + 2000)).toMatchObject({ type: 'attempt', trigger: 'new_cookie' });
  });

  test('while waiting for the user, a new cookie still gets one silent attempt', () => {
    let s = status(linkedin(false), 'CREDENTIALS');
    expect(s.recovery).toBe('WAITING_FOR_USER');
    s = cookie(s, 'f7');
    expect(nextStep(s, policy, T0)).toMatchObject({ type: 'attempt', action: 'reconnect', trigger: 'new_cookie' });
  });

  test('reconnect now picks a cookie reconnect for LinkedIn with cookies, else a restart', () => {
    expect(manualAttempt(linkedin(true), policy)).toMatchObject({ action: 'reconnect', trigger: 'manual' });
    expect(manualAttempt(linkedin(false), policy)).toMatchObject({ action: 'restart', trigger: 'manual' });
    const s = applyAttempt(linkedin(true), { ...failed('manual', 'f1'), outcome: 'succeeded' }, T0);
    expect(s).toMatchObject({ status: 'OK', incident: null });
  });
});

describe('cookie cipher', () => {
  const k1 = { id: 'k1', key: randomBytes(32) };
  const k2 = { id: 'k2', key: randomBytes(32) };

  test('round trip with random IVs; bound to its row; key rotation', () => {
    const c = new CookieCipher([k1]);
    const a = c.encrypt('AQEDAsecret', cookieAad('u', 'm'));
    expect(a).not.toContain('AQEDAsecret');
    expect(a).not.toBe(c.encrypt('AQEDAsecret', cookieAad('u', 'm')));
    expect(c.decrypt(a, cookieAad('u', 'm'))).toBe('AQEDAsecret');
    expect(() => c.decrypt(a, cookieAad('u', 'other'))).toThrow('authentication failed');
    const rotated = new CookieCipher([k2, k1]);
    expect(rotated.decrypt(a, cookieAad('u', 'm'))).toBe('AQEDAsecret');
    expect(CookieCipher.keyIdOf(rotated.encrypt('x', ['y']))).toBe('k2');
    expect(() => new CookieCipher([k2]).decrypt(a, cookieAad('u', 'm'))).toThrow('key id k1');
  });

  test('errors never contain the ciphertext or the plaintext', () => {
    const c = new CookieCipher([k1]);
    const a = c.encrypt('AQEDAsecret', ['aad']);
    const tampered = a.slice(0, -2) + (a.endsWith('A') ? 'BB' : 'AA');
    let message = '';
    expect(() => {
      try {
        c.decrypt(tampered, ['aad']);
      } catch (err) {
        message = (err as Error).message;
        throw err;
      }
    }).toThrow(CookieDecryptError);
    expect(message).toBe('cannot decrypt: authentication failed');
    expect(message).not.toContain(tampered);
    expect(message).not.toContain('AQEDAsecret');
  });

  test('a truncated authentication tag or a short IV is refused, not accepted as GCM would', () => {
    const c = new CookieCipher([k1]);
    const [v, id, iv, tag, data] = c.encrypt('AQEDAsecret', cookieAad('u', 'm')).split('.');
    const tag4 = Buffer.from(tag!, 'base64url').subarray(0, 4).toString('base64url');
    expect(() => c.decrypt([v, id, iv, tag4, data].join('.'), cookieAad('u', 'm'))).toThrow('malformed');
    const iv8 = Buffer.from(iv!, 'base64url').subarray(0, 8).toString('base64url');
    expect(() => c.decrypt([v, id, iv8, tag, data].join('.'), cookieAad('u', 'm'))).toThrow('malformed');
    expect(() => c.decrypt([v, id, iv, tag, data, 'x'].join('.'), cookieAad('u', 'm'))).toThrow('unknown format');
  });

  test('associated data is unambiguous: (a:b, c) and (a, b:c) do not open each other', () => {
    const c = new CookieCipher([k1]);
    const sealed = c.encrypt('AQEDAsecret', cookieAad('a:b', 'c'));
    expect(c.decrypt(sealed, cookieAad('a:b', 'c'))).toBe('AQEDAsecret');
    expect(() => c.decrypt(sealed, cookieAad('a', 'b:c'))).toThrow('authentication failed');
  });

  test('v1 ciphertexts written before the unambiguous encoding still open, and are due for rotation', () => {
    // Written the way v1 did: AAD joined with ':'.
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', k1.key, iv, { authTagLength: 16 });
    cipher.setAAD(Buffer.from('linkedin:u:m', 'utf8'));
    const data = Buffer.concat([cipher.update('AQEDAold', 'utf8'), cipher.final()]);
    const v1 = ['v1', 'k1', ...[iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url'))].join('.');
    const c = new CookieCipher([k1]);
    expect(c.decrypt(v1, cookieAad('u', 'm'))).toBe('AQEDAold');
    expect(c.needsRotation(v1)).toBe(true);
    expect(c.needsRotation(c.encrypt('x', cookieAad('u', 'm')))).toBe(false);
  });

  test('key ids must be unique and free of dots', () => {
    expect(() => new CookieCipher([k1, { ...k2, id: 'k1' }])).toThrow('given twice');
    expect(() => new CookieCipher([{ ...k1, id: 'k.1' }])).toThrow('must match');
    expect(() => new CookieCipher([{ ...k1, id: '' }])).toThrow('must match');
  });

  test('fingerprints are keyed and stable', () => {
    expect(cookieFingerprint('s', 'c')).toBe(cookieFingerprint('s', 'c'));
    expect(cookieFingerprint('s', 'c')).not.toBe(cookieFingerprint('t', 'c'));
    expect(cookieFingerprint('s', 'AQEDAsecretvalue')).not.toContain('AQEDA');
  });
});
