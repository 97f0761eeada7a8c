import {
  afterSync,
  CHECK_EVERY_MINUTES,
  decideSync,
  FOLLOW_UP_FOR_MS,
  FOLLOW_UP_MS,
  initialState,
  isSettling,
  RESEND_EVERY_MS,
  type SyncAnswer,
  type SyncState,
} from '../../extension/src/sync-rules';

// docs/EXTENSION.md, "Sends": the timing promises, checked by running the rules the way the service worker does
// (background.ts): the 'check' alarm every CHECK_EVERY_MINUTES, a 'retry' alarm FOLLOW_UP_MS after an answer that
// is still settling, each alarm a sync whose answer updates the state. Time is simulated; the rules are the real ones.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const start = 1_800_000_000_000;
const view = { hasLiAt: true, fingerprint: 'cookies-1' };
const paired: SyncState = {
  ...initialState(),
  pairing: { apiUrl: 'https://api.example.com', token: 'ext_abcdefghijklmnopqrstuvwxyz' },
  memberId: '123',
};

/**
 * Runs the service worker's alarms from `start` for `forMs` and returns when it sent. `answerAt(t)` is what the API
 * answers a post at `t` (202). Alarms: the periodic check, and the one-shot retry that background.ts sets to
 * FOLLOW_UP_MS after each sync while the stored answer is settling.
 */
function run(forMs: number, answerAt: (t: number) => SyncAnswer): number[] {
  let state = paired;
  const sends: number[] = [];
  const sync = (t: number, trigger: 'startup' | 'alarm') => {
    if (!decideSync(state, view, t, trigger).send) return;
    sends.push(t);
    state = afterSync(state, view.fingerprint, { status: 202, retryAfter: null, body: answerAt(t) }, t);
  };
  sync(start, 'startup');
  let retryAt: number | null = isSettling(state.answer) ? start + FOLLOW_UP_MS : null;
  let checkAt = start + CHECK_EVERY_MINUTES * MINUTE;
  while (Math.min(checkAt, retryAt ?? Infinity) <= start + forMs) {
    const t = Math.min(checkAt, retryAt ?? Infinity);
    if (t === checkAt) checkAt += CHECK_EVERY_MINUTES * MINUTE;
    if (t === retryAt) retryAt = null;
    sync(t, 'alarm');
    // scheduleAlarms(): a settling answer sets the next retry FOLLOW_UP_MS from now (chrome.alarms.create replaces it).
    if (isSettling(state.answer)) retryAt = t + FOLLOW_UP_MS;
  }
  return sends;
}

const settled: SyncAnswer = { accountId: 'acc_1', status: 'OK', recovery: 'NONE' };
const connecting: SyncAnswer = { accountId: null, status: 'CONNECTING', recovery: 'NONE' };
const waitingForCode: SyncAnswer = {
  accountId: 'acc_1',
  status: 'OK',
  recovery: 'CHECKPOINT',
  checkpoint: { accountId: 'acc_1', type: '2FA', expiresAt: null },
};

describe('the extension sends the same cookies every 4 hours, checked by a 30-minute alarm', () => {
  test('over two days: a send every 4 hours exactly, nothing in between, well below the 24 h COOKIE_STALE_AFTER', () => {
    expect(CHECK_EVERY_MINUTES).toBe(30);
    expect(RESEND_EVERY_MS).toBe(4 * HOUR);
    const sends = run(48 * HOUR, () => settled);
    // Positive control: the first send is the start-up one, at once.
    expect(sends[0]).toBe(start);
    const gaps = sends.slice(1).map((t, i) => t - sends[i]!);
    expect(gaps).toEqual(Array.from({ length: 12 }, () => 4 * HOUR));
    expect(Math.max(...gaps)).toBeLessThan(24 * HOUR);
  });

  test('an alarm before the 4 hours are up sends nothing; the first one at or after 4 hours sends', () => {
    const state = afterSync(paired, view.fingerprint, { status: 202, retryAfter: null, body: settled }, start);
    for (let t = start + 30 * MINUTE; t < start + 4 * HOUR; t += 30 * MINUTE)
      expect(decideSync(state, view, t, 'alarm')).toMatchObject({ send: false, reason: 'up_to_date' });
    expect(decideSync(state, view, start + 4 * HOUR, 'alarm')).toEqual({ send: true });
  });
});

describe('while a connection is starting or waits for a code, the extension asks again every 30 s', () => {
  test('a connection that comes up after 3 minutes: a follow-up every 30 s until then, none after', () => {
    expect(FOLLOW_UP_MS).toBe(30_000);
    const upAt = start + 3 * MINUTE;
    const sends = run(2 * HOUR, (t) => (t < upAt ? connecting : settled));
    const early = sends.filter((t) => t <= upAt);
    expect(early).toEqual(Array.from({ length: 7 }, (_, i) => start + i * 30_000));
    // Once the answer is settled, nothing more before the 4-hour resend (two hours watched, far past the 30 s rule).
    expect(sends.filter((t) => t > upAt)).toEqual([]);
  });

  test('a code nobody answers: follow-ups every 30 s for 10 minutes, then none until the 4-hour resend', () => {
    expect(FOLLOW_UP_FOR_MS).toBe(10 * MINUTE);
    const sends = run(HOUR, () => waitingForCode);
    const gaps = sends.slice(1).map((t, i) => t - sends[i]!);
    // The start-up send, then one every 30 s while less than 10 minutes have passed since the settling began.
    expect(sends).toEqual(Array.from({ length: FOLLOW_UP_FOR_MS / FOLLOW_UP_MS }, (_, i) => start + i * FOLLOW_UP_MS));
    expect(new Set(gaps)).toEqual(new Set([30_000]));
    // Watched for five hours, far past the 10 minutes: only the 4-hour resend of the last send goes.
    const last = start + FOLLOW_UP_FOR_MS - FOLLOW_UP_MS;
    expect(run(5 * HOUR, () => waitingForCode).filter((t) => t > last)).toEqual([last + RESEND_EVERY_MS]);
  });

  test('new cookies while a code waits start a new 10 minutes of follow-ups', () => {
    let state = afterSync(paired, view.fingerprint, { status: 202, retryAfter: null, body: waitingForCode }, start);
    for (let t = start + FOLLOW_UP_MS; t < start + FOLLOW_UP_FOR_MS; t += FOLLOW_UP_MS)
      state = afterSync(state, view.fingerprint, { status: 202, retryAfter: null, body: waitingForCode }, t);
    expect(decideSync(state, view, start + FOLLOW_UP_FOR_MS, 'alarm')).toMatchObject({ send: false });
    const changed = { ...view, fingerprint: 'cookies-2' };
    const at = start + FOLLOW_UP_FOR_MS + 1000;
    expect(decideSync(state, changed, at, 'cookie')).toEqual({ send: true });
    state = afterSync(state, changed.fingerprint, { status: 202, retryAfter: null, body: waitingForCode }, at);
    expect(decideSync(state, changed, at + FOLLOW_UP_MS, 'alarm')).toEqual({ send: true });
  });

  test('after a backoff longer than 10 minutes the follow-ups stop until a change or the 4-hour resend', () => {
    const answered = afterSync(paired, view.fingerprint, { status: 202, retryAfter: null, body: connecting }, start);
    // Positive control: 30 s after a settling answer, a follow-up goes.
    expect(decideSync(answered, view, start + FOLLOW_UP_MS, 'alarm')).toEqual({ send: true });
    const limited = afterSync(
      answered,
      view.fingerprint,
      { status: 429, retryAfter: '900', body: null },
      start + 30_000,
    );
    const backoffEnd = limited.backoff!.until;
    expect(backoffEnd - start).toBeGreaterThan(FOLLOW_UP_FOR_MS);
    expect(decideSync(limited, view, backoffEnd, 'alarm')).toMatchObject({ send: false, reason: 'up_to_date' });
    expect(decideSync(limited, { ...view, fingerprint: 'cookies-2' }, backoffEnd, 'cookie')).toEqual({ send: true });
    expect(decideSync(limited, view, start + RESEND_EVERY_MS, 'alarm')).toEqual({ send: true });
  });
});
