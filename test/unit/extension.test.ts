import { trustProxySetting } from '../../src/api/app';
import { publicIpv4Of } from '../../src/api/extension/routes';
import { extensionManifest, optionsFromEnv, originOf } from '../../extension/build';
import type { PopupView } from '../../extension/src/messages';
import { memberIdFrom } from '../../extension/src/member-id';
import { popupWords } from '../../extension/src/popup-words';
import {
  acceptPendingPairing,
  afterSync,
  apiUrlAllowed,
  offerPairing,
  PENDING_PAIRING_FOR_MS,
  rejectPendingPairing,
  decideSync,
  FOLLOW_UP_MS,
  initialState,
  pairingFrom,
  RESEND_EVERY_MS,
  retryAfterMs,
  type SyncState,
} from '../../extension/src/sync-rules';

describe('member id from a LinkedIn page', () => {
  test('the plainId of the data object, as the seed describes it', () => {
    expect(memberIdFrom('<code>{"data":{"plainId":123456789,"publicIdentifier":"ada"}}</code>')).toBe('123456789');
    expect(memberIdFrom('{"data":{"entityUrn":"urn:li:fs_miniProfile:x","plainId":42}}')).toBe('42');
    expect(memberIdFrom('{ "data" : { "plainId" : "987" } }')).toBe('987');
  });

  test('HTML-escaped, as it appears in the raw page', () => {
    const page = '<code id="bpr-guid-7">{&quot;data&quot;:{&quot;plainId&quot;:55501,&quot;x&quot;:1}}</code>';
    expect(memberIdFrom(page)).toBe('55501');
  });

  test('other members named on the page are not taken for the user', () => {
    const feed = '{"data":{"entityUrn":"urn:li:feed"},"included":[{"plainId":999000111},{"plainId":888}]}';
    expect(memberIdFrom(feed)).toBeNull();
    expect(memberIdFrom(`${feed}<code>{"data":{"plainId":7}}</code>`)).toBe('7');
  });

  test('pages without it (signed out, a login page)', () => {
    expect(memberIdFrom('<html><body><form action="/checkpoint/lg/login-submit"></form></body></html>')).toBeNull();
    expect(memberIdFrom('')).toBeNull();
    expect(memberIdFrom('{"data":{"plainId":null}}')).toBeNull();
  });
});

describe('when the extension sends', () => {
  const now = 1_800_000_000_000;
  const paired: SyncState = {
    ...initialState(),
    pairing: { apiUrl: 'https://api.example.com', token: 'ext_abcdefghijklmnopqrstuvwxyz' },
    memberId: '123',
  };
  const view = { hasLiAt: true, fingerprint: 'f1' };
  const sent = (at: number, answer: Partial<NonNullable<SyncState['answer']>> = {}): SyncState => ({
    ...paired,
    lastSent: { fingerprint: 'f1', at },
    answer: { accountId: 'acc', status: 'OK', recovery: 'NONE', at, ...answer },
  });

  test('nothing without pairing, after a refusal, without li_at or before a LinkedIn page gave the member id', () => {
    expect(decideSync(initialState(), view, now, 'startup')).toMatchObject({ send: false, reason: 'not_paired' });
    expect(decideSync({ ...paired, needsPairing: true }, view, now, 'user')).toMatchObject({ reason: 'needs_pairing' });
    expect(decideSync(paired, { ...view, hasLiAt: false }, now, 'cookie')).toMatchObject({ reason: 'signed_out' });
    expect(decideSync({ ...paired, memberId: null }, view, now, 'cookie')).toMatchObject({ reason: 'member_unknown' });
  });

  test('first time, and whenever li_at, li_a, the member or the user agent changed', () => {
    expect(decideSync(paired, view, now, 'alarm')).toEqual({ send: true });
    expect(decideSync(sent(now - 1000), { ...view, fingerprint: 'f2' }, now, 'cookie')).toEqual({ send: true });
  });

  test('the same cookie: at start-up, on pairing, when asked, and every RESEND_EVERY_MS (below the 24 h staleness)', () => {
    expect(RESEND_EVERY_MS).toBeLessThan(24 * 60 * 60 * 1000);
    const recent = sent(now - 60_000);
    expect(decideSync(recent, view, now, 'cookie')).toMatchObject({ send: false, reason: 'up_to_date' });
    expect(decideSync(recent, view, now, 'alarm')).toMatchObject({ send: false, reason: 'up_to_date' });
    for (const trigger of ['startup', 'paired', 'user'] as const)
      expect(decideSync(recent, view, now, trigger)).toEqual({ send: true });
    expect(decideSync(sent(now - RESEND_EVERY_MS), view, now, 'alarm')).toEqual({ send: true });
  });

  test('while a connection is on its way or waits for a code, follow-ups a little apart', () => {
    const waiting = sent(now - 5000, { accountId: null, status: 'CONNECTING', recovery: 'CHECKPOINT' });
    expect(decideSync(waiting, view, now, 'alarm')).toMatchObject({ send: false });
    expect(decideSync(waiting, view, now + FOLLOW_UP_MS, 'alarm')).toEqual({ send: true });
  });

  test('429 and 5xx back off (Retry-After or doubling up to an hour); even a new cookie waits for the end', () => {
    let state = afterSync(paired, 'f1', { status: 429, retryAfter: '120', body: null }, now);
    expect(state.backoff).toEqual({ until: now + 120_000, failures: 1 });
    expect(decideSync(state, { ...view, fingerprint: 'f9' }, now + 1000, 'cookie')).toEqual({
      send: false,
      reason: 'backing_off',
      retryAt: now + 120_000,
    });
    expect(decideSync(state, view, now + 120_000, 'alarm')).toEqual({ send: true });
    for (let i = 0; i < 10; i++) state = afterSync(state, 'f1', { status: 503, retryAfter: null, body: null }, now);
    expect(state.backoff!.failures).toBe(11);
    expect(state.backoff!.until - now).toBe(60 * 60 * 1000);
    const unreachable = afterSync(paired, 'f1', { status: 0, retryAfter: null, body: null }, now);
    expect(unreachable.backoff!.until - now).toBe(60_000);
    expect(unreachable.lastError?.code).toBe('unreachable');
    const ok = afterSync(
      state,
      'f1',
      { status: 202, retryAfter: null, body: { accountId: 'a', status: 'OK', recovery: 'NONE' } },
      now,
    );
    expect(ok.backoff).toBeNull();
    expect(ok.lastSent).toEqual({ fingerprint: 'f1', at: now });
  });

  test('401/403 stop everything until the user pairs again; other refusals wait for a change', () => {
    const refused = afterSync(
      paired,
      'f1',
      {
        status: 401,
        retryAfter: null,
        body: { error: { code: 'unauthorized', message: 'Invalid or revoked extension token' } },
      },
      now,
    );
    expect(refused.needsPairing).toBe(true);
    expect(refused.lastError).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(decideSync(refused, { ...view, fingerprint: 'f2' }, now, 'cookie')).toMatchObject({
      reason: 'needs_pairing',
    });
    const tooMany = afterSync(
      paired,
      'f1',
      { status: 409, retryAfter: null, body: { error: { code: 'too_many_members', message: 'x' } } },
      now,
    );
    expect(tooMany.needsPairing).toBe(false);
    expect(decideSync(tooMany, view, now + 1000, 'alarm')).toMatchObject({ reason: 'up_to_date' });
    expect(decideSync(tooMany, { ...view, fingerprint: 'f2' }, now + 1000, 'cookie')).toEqual({ send: true });
  });

  test('Retry-After in seconds or as a date', () => {
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});

describe('pairing', () => {
  const hosts = ['https://*.linkedin.com/*', 'https://api.example.com/*'];
  test('only to the API origin the extension was built for, with a plausible key', () => {
    const token = 'ext_abcdefghijklmnopqrstuvwxyz012345';
    expect(pairingFrom({ apiUrl: 'https://api.example.com/', token: ` ${token} ` }, hosts)).toEqual({
      apiUrl: 'https://api.example.com',
      token,
    });
    expect(pairingFrom({ apiUrl: 'https://evil.example.net', token }, hosts)).toBeNull();
    expect(pairingFrom({ apiUrl: 'http://api.example.com', token }, hosts)).toBeNull();
    expect(pairingFrom({ apiUrl: 'https://www.linkedin.com', token }, hosts)).toBeNull();
    expect(pairingFrom({ apiUrl: 'https://api.example.com', token: 'short' }, hosts)).toBeNull();
    expect(pairingFrom({ apiUrl: 'javascript:alert(1)', token }, hosts)).toBeNull();
    expect(pairingFrom('pair', hosts)).toBeNull();
    expect(apiUrlAllowed('https://api.example.com:8443/x', hosts)).toBe(true);
  });

  const now = 1_800_000_000_000;
  const current = { apiUrl: 'https://api.example.com', token: 'ext_current-token-0123456789' };
  const offered = { apiUrl: 'https://api.example.com', token: 'ext_offered-token-9876543210' };
  const paired: SyncState = {
    ...initialState(),
    pairing: current,
    memberId: '123',
    lastSent: { fingerprint: 'f1', at: now - 1000 },
  };
  const app = 'https://app.example.com';

  test("the product's web page pairs a browser that is not paired, or whose key was refused, at once", () => {
    const fresh = offerPairing(initialState(), offered, app, now);
    expect(fresh.result).toBe('paired');
    expect(fresh.state.pairing).toEqual(offered);
    expect(fresh.state.pendingPairing).toBeNull();
    const refused = offerPairing({ ...paired, needsPairing: true }, offered, app, now);
    expect(refused.result).toBe('paired');
    expect(refused.state).toMatchObject({ pairing: offered, needsPairing: false, lastSent: null });
    expect(offerPairing(paired, current, app, now)).toEqual({ state: paired, result: 'unchanged' });
  });

  test('a web page cannot replace a working pairing: the new one waits for the user to accept it', () => {
    const offer = offerPairing(paired, offered, app, now);
    expect(offer.result).toBe('pending');
    expect(offer.state.pairing).toEqual(current);
    expect(offer.state.pendingPairing).toEqual({ ...offered, origin: app, at: now });
    // Meanwhile the cookies keep going to the current pairing only.
    expect(decideSync(offer.state, { hasLiAt: true, fingerprint: 'f2' }, now, 'cookie')).toEqual({ send: true });

    const accepted = acceptPendingPairing(offer.state, now + 60_000);
    expect(accepted).toMatchObject({ pairing: offered, pendingPairing: null, needsPairing: false, lastSent: null });
    const rejected = rejectPendingPairing(offer.state);
    expect(rejected).toMatchObject({ pairing: current, pendingPairing: null, lastSent: paired.lastSent });
    // An offer nobody accepted in time cannot be accepted later, nor can one that was never made.
    expect(acceptPendingPairing(offer.state, now + PENDING_PAIRING_FOR_MS + 1)).toBeNull();
    expect(acceptPendingPairing(paired, now)).toBeNull();
    // A newer offer replaces the waiting one; it never replaces the pairing itself.
    const other = { apiUrl: 'https://api.example.com', token: 'ext_other-token-5555555555' };
    const again = offerPairing(offer.state, other, app, now + 1000);
    expect(again.state.pairing).toEqual(current);
    expect(again.state.pendingPairing).toMatchObject(other);
  });
});

describe('manifest', () => {
  const options = {
    ...optionsFromEnv({}),
    apiOrigin: 'https://accounts.acme.test',
    appOrigins: ['https://app.acme.test'],
  };
  test('asks only for cookies, alarms and storage, LinkedIn and the API', () => {
    const manifest = extensionManifest(options);
    expect(manifest).toMatchObject({
      manifest_version: 3,
      permissions: ['cookies', 'alarms', 'storage'],
      host_permissions: ['https://*.linkedin.com/*', 'https://accounts.acme.test/*'],
      externally_connectable: { matches: ['https://app.acme.test/*'] },
    });
    expect(extensionManifest({ ...options, appOrigins: [] })).not.toHaveProperty('externally_connectable');
    // npm run dev says localhost, tests say 127.0.0.1: a local build accepts both names of this machine.
    expect(extensionManifest({ ...options, apiOrigin: 'http://localhost:3000' }).host_permissions).toEqual([
      'https://*.linkedin.com/*',
      'http://localhost/*',
      'http://127.0.0.1/*',
    ]);
  });

  test('refuses origins a store would reject or that would leak the key', () => {
    expect(() => originOf('http://accounts.acme.test', 'EXTENSION_API_ORIGIN')).toThrow(/https/);
    expect(() => originOf('https://accounts.acme.test/api', 'EXTENSION_API_ORIGIN')).toThrow(/without a path/);
    expect(() => originOf('nonsense', 'EXTENSION_API_ORIGIN')).toThrow(/origin/);
    expect(originOf('http://127.0.0.1:3000', 'EXTENSION_API_ORIGIN').port).toBe('3000');
  });
});

describe('popup words', () => {
  const base: PopupView = {
    paired: true,
    needsPairing: false,
    signedIn: true,
    memberId: '1',
    answer: null,
    lastError: null,
    backoffUntil: null,
    apiUrl: 'https://api.example.com',
    pendingPairing: null,
  };
  const answer = (a: Partial<NonNullable<PopupView['answer']>>) => ({
    ...base,
    answer: { accountId: 'acc', status: 'OK', recovery: 'NONE', at: 0, ...a },
  });
  test('each situation in plain words', () => {
    expect(popupWords({ ...base, paired: false }, 0)).toMatchObject({ headline: 'Not paired yet', askPairing: true });
    expect(popupWords({ ...base, needsPairing: true }, 0)).toMatchObject({ headline: 'Pair again', askPairing: true });
    expect(popupWords({ ...base, signedIn: false }, 0).headline).toBe('Sign in to LinkedIn');
    expect(popupWords({ ...base, memberId: null }, 0).headline).toBe('Open LinkedIn once');
    expect(popupWords(answer({}), 0)).toMatchObject({ headline: 'Connected', tone: 'ok', askCode: false });
    expect(popupWords(answer({ status: 'CREDENTIALS', recovery: 'RETRYING' }), 0).headline).toBe(
      'Reconnecting automatically…',
    );
    expect(popupWords(answer({ status: 'CREDENTIALS', recovery: 'WAITING_FOR_USER' }), 0).headline).toBe(
      'Needs you to reconnect',
    );
    expect(popupWords(answer({ accountId: null, status: 'CONNECTING' }), 0).headline).toBe('Connecting…');
    const code = popupWords(
      answer({ accountId: null, recovery: 'CHECKPOINT', checkpoint: { accountId: 'p', type: 'OTP', expiresAt: null } }),
      0,
    );
    expect(code).toMatchObject({ headline: 'LinkedIn asks for a verification code', askCode: true });
    expect(code.detail).toContain('email or text message');
    const pending = popupWords(
      { ...base, pendingPairing: { apiUrl: 'https://api.example.com', origin: 'https://app.example.com' } },
      0,
    );
    expect(pending).toMatchObject({ headline: 'Accept the new pairing?', tone: 'act', askAcceptPairing: true });
    expect(pending.detail).toContain('https://app.example.com');
    expect(popupWords(base, 0).askAcceptPairing).toBe(false);
  });
});

describe('the client address the server may use', () => {
  test('public IPv4 only, IPv4-mapped IPv6 unwrapped', () => {
    expect(publicIpv4Of('81.2.69.160')).toBe('81.2.69.160');
    expect(publicIpv4Of('::ffff:81.2.69.160')).toBe('81.2.69.160');
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.0.9',
      '100.64.1.1',
      '203.0.113.7',
      '::1',
      '2a01::1',
    ])
      expect(publicIpv4Of(a)).toBeNull();
    expect(publicIpv4Of(undefined)).toBeNull();
  });

  test('TRUST_PROXY as Express takes it', () => {
    expect(trustProxySetting('loopback')).toEqual(['loopback']);
    expect(trustProxySetting('1')).toBe(1);
    expect(trustProxySetting('false')).toBe(false);
    expect(trustProxySetting('loopback, 10.0.0.0/8')).toEqual(['loopback', '10.0.0.0/8']);
  });
});
