import fc from 'fast-check';
import {
  applyAttempt,
  applyEmail,
  applyEmailFailure,
  applyInbound,
  classifyMessage,
  describe as describeState,
  initialState,
  nextStep,
  toView,
  ATTEMPTS_KEPT,
  TRIED_COOKIES_KEPT,
} from '../../src/workflows/account/state';
import type { AccountState, AttemptRecord, RecoveryPolicy } from '../../src/workflows/account/contract';

const policy: RecoveryPolicy = {
  retryIntervalMs: 3_600_000,
  maxRetries: 4,
  reminderScheduleMs: [86_400_000, 3 * 86_400_000],
  cookieStaleAfterMs: 86_400_000,
};
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const H = 3_600_000;

function status(state: AccountState, message: string, now = T0, receiptId?: number): AccountState {
  return applyInbound(
    state,
    { type: 'status', event: { message, receivedAt: new Date(now).toISOString(), receiptId } },
    now,
  );
}
const fresh = () =>
  status(initialState({ accountId: 'acc', provider: 'GOOGLE_OAUTH', userId: 'u' }), 'CREATION_SUCCESS');

describe('classifyMessage', () => {
  test.each([
    ['OK', 'healthy'],
    ['CREATION_SUCCESS', 'healthy'],
    ['RECONNECTED', 'healthy'],
    ['SYNC_SUCCESS', 'healthy'],
    ['CREDENTIALS', 'needs-auth'],
    ['PERMISSIONS', 'needs-auth'],
    ['ERROR', 'sync-error'],
    ['STOPPED', 'sync-error'],
    ['CONNECTING', 'transient'],
    ['DELETED', 'deleted'],
    ['CREATION_FAIL', 'other'],
    ['SOMETHING_NEW', 'other'],
  ])('%s is %s', (message, cls) => expect(classifyMessage(message)).toBe(cls));
});

describe('status events', () => {
  test('a healthy event makes a new account OK and opens nothing', () => {
    const s = fresh();
    expect(s).toMatchObject({ status: 'OK', recovery: 'NONE', incident: null });
    expect(s.journal.map((e) => e.type)).toEqual(['status_changed']);
  });

  test('the same status twice is one transition', () => {
    const once = status(fresh(), 'CREDENTIALS');
    const twice = status(once, 'CREDENTIALS', T0 + 1000);
    expect(twice).toBe(once);
  });

  test('the same receipt forwarded twice is applied once', () => {
    const once = status(fresh(), 'CONNECTING', T0, 7);
    const again = status(status(once, 'OK', T0, 8), 'CONNECTING', T0, 7);
    expect(again.status).toBe('OK');
  });

  test('needs-auth without cookies waits for the user and asks for an email at once', () => {
    const s = status(fresh(), 'CREDENTIALS');
    expect(s.recovery).toBe('WAITING_FOR_USER');
    expect(s.incident).toMatchObject({ id: 1, kind: 'needs-auth', action: 'none' });
    expect(nextStep(s, policy, T0)).toEqual({ type: 'email', kind: 'reconnect_needed', seq: 0 });
  });

  test('CONNECTING during an incident keeps it open; the next CREDENTIALS does not open another', () => {
    let s = status(fresh(), 'CREDENTIALS');
    s = status(s, 'CONNECTING');
    expect(s.incident?.id).toBe(1);
    s = status(s, 'CREDENTIALS');
    expect(s.incident?.id).toBe(1);
    expect(s.incidentCount).toBe(1);
  });

  test('a healthy event closes the incident', () => {
    const s = status(status(fresh(), 'ERROR'), 'OK', T0 + 10);
    expect(s).toMatchObject({ status: 'OK', recovery: 'NONE', incident: null, lastError: null });
    expect(s.journal.map((e) => e.type)).toContain('incident_closed');
    expect(nextStep(s, policy, T0 + 10)).toEqual({ type: 'idle' });
  });

  test('switching from sync-error to needs-auth supersedes the incident', () => {
    const s = status(status(fresh(), 'ERROR'), 'CREDENTIALS');
    expect(s.incident).toMatchObject({ id: 2, kind: 'needs-auth' });
  });

  test('DELETED completes; later events are recorded and ignored', () => {
    let s = status(status(fresh(), 'ERROR'), 'DELETED');
    expect(s).toMatchObject({ status: 'DELETED', completed: true, incident: null });
    expect(nextStep(s, policy, T0)).toEqual({ type: 'complete' });
    s = status(s, 'OK');
    expect(s.status).toBe('DELETED');
    expect(s.journal[s.journal.length - 1]).toMatchObject({ type: 'event_ignored', data: { reason: 'deleted' } });
  });

  test('unknown messages are recorded verbatim and change nothing', () => {
    const before = fresh();
    const after = status(before, 'CREATION_FAIL');
    expect(after.status).toBe('OK');
    expect(after.journal[after.journal.length - 1]).toMatchObject({
      type: 'event_ignored',
      data: { message: 'CREATION_FAIL' },
    });
  });

  test('linking records the user and provider once', () => {
    const s = initialState({ accountId: 'acc' });
    const linked = applyInbound(s, { type: 'linked', link: { userId: 'u', provider: 'LINKEDIN' } }, T0);
    expect(linked).toMatchObject({ userId: 'u', provider: 'LINKEDIN' });
    expect(applyInbound(linked, { type: 'linked', link: { userId: 'u', provider: 'LINKEDIN' } }, T0)).toBe(linked);
  });
});

describe('sync-error schedule', () => {
  const failed = (n: number, at: number): AttemptRecord => ({
    n,
    of: 5,
    action: 'restart',
    trigger: 'schedule',
    at: new Date(at).toISOString(),
    outcome: 'failed',
    errorType: 'AccountFailedToRestart',
  });

  test('attempt at once, then every interval, 1 + maxRetries in all, then email, then reminders', () => {
    let s = status(fresh(), 'ERROR');
    expect(s.recovery).toBe('RETRYING');
    expect(nextStep(s, policy, T0)).toEqual({ type: 'attempt', action: 'restart', trigger: 'schedule', n: 1, of: 5 });
    for (let n = 1; n <= 5; n++) {
      const at = T0 + (n - 1) * H;
      if (n > 1) {
        expect(nextStep(s, policy, at - 1)).toMatchObject({
          type: 'wait',
          until: at,
          purpose: 'attempt',
          summary: `restart attempt ${n}/5`,
        });
      }
      expect(nextStep(s, policy, at)).toMatchObject({ type: 'attempt', n });
      s = applyAttempt(s, failed(n, at), at);
    }
    const last = T0 + 4 * H;
    expect(nextStep(s, policy, last)).toEqual({ type: 'email', kind: 'reconnect_needed', seq: 0 });
    s = applyEmail(s, { kind: 'reconnect_needed', seq: 0, at: new Date(last).toISOString(), outcome: 'sent' }, last);
    expect(s.recovery).toBe('WAITING_FOR_USER');
    expect(nextStep(s, policy, last + H)).toMatchObject({ type: 'wait', until: last + 24 * H, purpose: 'email' });
    expect(nextStep(s, policy, last + 24 * H)).toEqual({ type: 'email', kind: 'reminder', seq: 1 });
    s = applyEmail(
      s,
      { kind: 'reminder', seq: 1, at: new Date(last + 24 * H).toISOString(), outcome: 'sent' },
      last + 24 * H,
    );
    expect(nextStep(s, policy, last + 24 * H)).toMatchObject({ type: 'wait', until: last + 72 * H });
    s = applyEmail(
      s,
      { kind: 'reminder', seq: 2, at: new Date(last + 72 * H).toISOString(), outcome: 'sent' },
      last + 72 * H,
    );
    expect(nextStep(s, policy, last + 1000 * H)).toEqual({ type: 'idle' });
  });

  test('a successful attempt closes the incident and sets OK', () => {
    let s = status(fresh(), 'STOPPED');
    s = applyAttempt(s, { ...failed(1, T0), outcome: 'succeeded' }, T0);
    expect(s).toMatchObject({ status: 'OK', recovery: 'NONE', incident: null });
    expect(s.journal.slice(-3).map((e) => e.type)).toEqual(['attempt', 'status_changed', 'incident_closed']);
  });

  test('zero retries means a single attempt', () => {
    const p = { ...policy, maxRetries: 0 };
    let s = status(fresh(), 'ERROR');
    s = applyAttempt(s, failed(1, T0), T0);
    expect(nextStep(s, p, T0)).toEqual({ type: 'email', kind: 'reconnect_needed', seq: 0 });
  });
});

describe('an email that cannot be sent', () => {
  test('is recorded and tried again one interval later, never given up; a sent one clears the wait', () => {
    let s = status(fresh(), 'CREDENTIALS', T0);
    expect(nextStep(s, policy, T0)).toEqual({ type: 'email', kind: 'reconnect_needed', seq: 0 });
    s = applyEmailFailure(s, { kind: 'reconnect_needed', seq: 0, reason: 'SMTP down' }, policy, T0);
    expect(s.journal.map((e) => e.type)).toContain('email_failed');
    expect(s.lastError).toBe('email_failed');
    expect(nextStep(s, policy, T0 + 1000)).toEqual({
      type: 'wait',
      until: T0 + H,
      purpose: 'email',
      summary: 'email retry',
    });
    expect(nextStep(s, policy, T0 + H)).toEqual({ type: 'email', kind: 'reconnect_needed', seq: 0 });
    // Failing again pushes the retry one more interval out.
    s = applyEmailFailure(s, { kind: 'reconnect_needed', seq: 0, reason: 'SMTP down' }, policy, T0 + H);
    expect(nextStep(s, policy, T0 + H + 1)).toMatchObject({ type: 'wait', until: T0 + 2 * H });
    s = applyEmail(
      s,
      { kind: 'reconnect_needed', seq: 0, at: new Date(T0 + 2 * H).toISOString(), outcome: 'sent' },
      T0 + 2 * H,
    );
    expect(s.incident!.emailRetryAt).toBeNull();
    expect(nextStep(s, policy, T0 + 2 * H)).toMatchObject({ type: 'wait', until: T0 + 2 * H + 24 * H });
  });

  test('a reminder that fails waits for its retry even though it is due', () => {
    let s = status(fresh(), 'CREDENTIALS', T0);
    s = applyEmail(s, { kind: 'reconnect_needed', seq: 0, at: new Date(T0).toISOString(), outcome: 'sent' }, T0);
    const due = T0 + 24 * H;
    expect(nextStep(s, policy, due)).toEqual({ type: 'email', kind: 'reminder', seq: 1 });
    s = applyEmailFailure(s, { kind: 'reminder', seq: 1, reason: 'SMTP down' }, policy, due);
    expect(nextStep(s, policy, due + 1)).toMatchObject({ type: 'wait', until: due + H, summary: 'email retry' });
    expect(nextStep(s, policy, due + H)).toEqual({ type: 'email', kind: 'reminder', seq: 1 });
  });
});

describe('views', () => {
  test('the view shows attempts, next attempt time and last error', () => {
    let s = status(fresh(), 'ERROR');
    s = applyAttempt(
      s,
      {
        n: 1,
        of: 5,
        action: 'restart',
        trigger: 'schedule',
        at: new Date(T0).toISOString(),
        outcome: 'failed',
        errorType: 'errors/x',
      },
      T0,
    );
    const view = toView(s, policy, T0 + 1);
    expect(view).toMatchObject({ status: 'ERROR', recovery: 'RETRYING', lastError: 'errors/x', nextEmailAt: null });
    expect(view.nextAttemptAt).toBe(new Date(T0 + H).toISOString());
    expect(view.incident).toMatchObject({ maxAttempts: 5, attempts: [expect.objectContaining({ n: 1 })] });
    expect(describeState(s, policy, T0 + 1)).toContain('attempt 1 of 5');
  });

  test('the state survives a JSON round trip (continue-as-new payload)', () => {
    const s = status(status(fresh(), 'ERROR'), 'CONNECTING');
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});

describe('cookie reconnect budget (the workflow turns it on behind a patch)', () => {
  const M = 60_000;
  // CONNECT_RETRY_INTERVAL of 1 h; scheduled attempts every 3 h so the two schedules are told apart.
  const budget: RecoveryPolicy = {
    ...policy,
    retryIntervalMs: 3 * H,
    cookieReconnectIntervalMs: H,
    cookieBudget: true,
  };
  const cookie = (s: AccountState, fingerprint: string, now: number) =>
    applyInbound(s, { type: 'cookie', cookie: { fingerprint, at: new Date(now).toISOString() } }, now);
  const failedAttempt = (
    step: { n: number; of: number; trigger: AttemptRecord['trigger'] },
    at: number,
    fingerprint: string,
  ): AttemptRecord => ({
    n: step.n,
    of: step.of,
    action: 'reconnect',
    trigger: step.trigger,
    at: new Date(at).toISOString(),
    outcome: 'failed',
    errorType: 'errors/invalid_credentials',
    fingerprint,
  });
  /** A LinkedIn account with cookie f0 in a needs-auth incident whose first scheduled attempt failed at T0. */
  const linkedinIncident = (p: RecoveryPolicy = budget) => {
    let s = initialState({
      accountId: 'acc',
      provider: 'LINKEDIN',
      userId: 'u',
      cookie: { fingerprint: 'f0', at: new Date(T0).toISOString() },
    });
    s = status(status(s, 'CREATION_SUCCESS'), 'CREDENTIALS');
    expect(s.incident).toMatchObject({ action: 'reconnect' });
    return applyAttempt(s, failedAttempt({ n: 1, of: 5, trigger: 'schedule' }, T0, 'f0'), T0, p);
  };

  test('the first new cookie is tried at once; a newer one inside the interval waits for the next slot', () => {
    let s = cookie(linkedinIncident(), 'f1', T0 + M);
    expect(nextStep(s, budget, T0 + M)).toMatchObject({ type: 'attempt', trigger: 'new_cookie' });
    s = applyAttempt(s, failedAttempt({ n: 1, of: 5, trigger: 'new_cookie' }, T0 + M, 'f1'), T0 + M, budget);
    s = cookie(s, 'f2', T0 + 2 * M);
    s = cookie(s, 'f3', T0 + 3 * M);
    const slot = T0 + M + H;
    expect(nextStep(s, budget, T0 + 3 * M)).toEqual({
      type: 'wait',
      until: slot,
      purpose: 'attempt',
      summary: 'reconnect attempt (new cookie)',
    });
    expect(toView(s, budget, T0 + 3 * M).nextAttemptAt).toBe(new Date(slot).toISOString());
    expect(nextStep(s, budget, slot - 1)).toMatchObject({ type: 'wait', until: slot });
    expect(nextStep(s, budget, slot)).toMatchObject({ type: 'attempt', trigger: 'new_cookie' });
    // The attempt reads the newest stored cookie (f3): tried once, and neither f2 nor f3 asks for another.
    s = applyAttempt(s, failedAttempt({ n: 1, of: 5, trigger: 'new_cookie' }, slot, 'f3'), slot, budget);
    s = cookie(s, 'f3', slot + M);
    expect(nextStep(s, budget, slot + M)).toMatchObject({ type: 'wait', purpose: 'attempt', until: T0 + 3 * H });
  });

  test('without the budget (histories recorded before it) every new cookie is tried at once, as before', () => {
    const old: RecoveryPolicy = { ...budget, cookieBudget: false };
    let s = cookie(linkedinIncident(old), 'f1', T0 + M);
    s = applyAttempt(s, failedAttempt({ n: 1, of: 5, trigger: 'new_cookie' }, T0 + M, 'f1'), T0 + M, old);
    s = cookie(s, 'f2', T0 + 2 * M);
    expect(nextStep(s, old, T0 + 2 * M)).toMatchObject({ type: 'attempt', trigger: 'new_cookie' });
    expect(s.incident!.attempts).toHaveLength(2);
    expect(s.incident).not.toHaveProperty('attemptCount');
  });

  test('a scheduled attempt due before the cookie slot runs first and, having used the newest cookie, spends it', () => {
    const p: RecoveryPolicy = { ...budget, retryIntervalMs: 30 * M };
    let s = cookie(linkedinIncident(p), 'f1', T0 + M);
    s = applyAttempt(s, failedAttempt({ n: 1, of: 5, trigger: 'new_cookie' }, T0 + M, 'f1'), T0 + M, p);
    s = cookie(s, 'f2', T0 + 2 * M);
    expect(nextStep(s, p, T0 + 2 * M)).toMatchObject({
      type: 'wait',
      until: T0 + 30 * M,
      summary: 'reconnect attempt 2/5',
    });
    expect(nextStep(s, p, T0 + 30 * M)).toMatchObject({ type: 'attempt', trigger: 'schedule', n: 2 });
    s = applyAttempt(s, failedAttempt({ n: 2, of: 5, trigger: 'schedule' }, T0 + 30 * M, 'f2'), T0 + 30 * M, p);
    expect(s.incident!.newCookiePending).toBe(false);
    expect(nextStep(s, p, T0 + 30 * M)).toMatchObject({
      type: 'wait',
      until: T0 + 60 * M,
      summary: 'reconnect attempt 3/5',
    });
  });

  test('a pending cookie past the schedule waits for its slot, not for the reminder', () => {
    const p: RecoveryPolicy = { ...budget, maxRetries: 0 };
    let s = linkedinIncident(p);
    s = applyEmail(s, { kind: 'reconnect_needed', seq: 0, at: new Date(T0).toISOString(), outcome: 'sent' }, T0);
    s = cookie(s, 'f1', T0 + M);
    s = applyAttempt(s, failedAttempt({ n: 1, of: 1, trigger: 'new_cookie' }, T0 + M, 'f1'), T0 + M, p);
    s = cookie(s, 'f2', T0 + 2 * M);
    expect(nextStep(s, p, T0 + 2 * M)).toEqual({
      type: 'wait',
      until: T0 + M + H,
      purpose: 'attempt',
      summary: 'reconnect attempt (new cookie)',
    });
  });

  test('state stays bounded: the last attempts and fingerprints are kept, counters keep "attempt n of N" right', () => {
    const p: RecoveryPolicy = { ...budget, maxRetries: 40, retryIntervalMs: 2 * H };
    let s = linkedinIncident(p);
    let now = T0;
    let cookieAttempts = 0;
    for (let i = 1; i <= 200; i++) {
      now += H;
      s = cookie(s, `fp-${i}`, now);
      // Everything due now: the new cookie (one an hour is within the budget), and every other hour a scheduled one.
      for (let step = nextStep(s, p, now); step.type === 'attempt'; step = nextStep(s, p, now)) {
        if (step.trigger === 'new_cookie') cookieAttempts++;
        s = applyAttempt(s, failedAttempt(step, now, `fp-${i}`), now, p);
      }
      s = { ...s, journal: [] };
    }
    const incident = s.incident!;
    expect(cookieAttempts).toBe(200);
    expect(incident.attempts.length).toBe(ATTEMPTS_KEPT);
    expect(incident.triedCookies.length).toBe(TRIED_COOKIES_KEPT);
    expect(incident.triedCookies[TRIED_COOKIES_KEPT - 1]).toBe('fp-200');
    // 1 + 40 scheduled attempts (every 2 h, long since dropped from the list) and 200 on new cookies: the counters,
    // not the kept list, say how many ran and where the schedule stands.
    expect(incident.attemptCount).toBe(241);
    expect(incident.scheduledCount).toBe(41);
    expect(describeState(s, p, now)).toContain('attempt 41 of 41');
    expect(nextStep(s, p, now)).toEqual({ type: 'email', kind: 'reconnect_needed', seq: 0 });
    expect(toView(s, p, now).incident).toMatchObject({ attemptsOmitted: 241 - ATTEMPTS_KEPT });
    expect(JSON.stringify(s).length).toBeLessThan(16_000);
  });

  test('property: under any sequence of cookies, webhooks and outcomes, state stays small and cookie attempts keep to the budget', () => {
    type Op =
      | { kind: 'cookie'; fp: number; after: number }
      | { kind: 'status'; message: string; after: number }
      | { kind: 'tick'; after: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({ kind: fc.constant('cookie' as const), fp: fc.nat(5000), after: fc.nat(20 * M) }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('status' as const),
          message: fc.constantFrom('CREDENTIALS', 'OK', 'ERROR', 'CONNECTING', 'PERMISSIONS'),
          after: fc.nat(H),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), after: fc.nat(3 * H) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 600 }), fc.nat(2), (ops, maxRetries) => {
        const p: RecoveryPolicy = { ...budget, maxRetries, reminderScheduleMs: [H, 2 * H] };
        let s = status(
          initialState({ accountId: 'acc', provider: 'LINKEDIN', userId: 'u', cookie: { fingerprint: 'f0', at: '' } }),
          'CREATION_SUCCESS',
        );
        let now = T0;
        let latest = 'f0';
        const cookieAttempts = new Map<number, number[]>();
        let largest = 0;
        for (const o of ops) {
          now += o.after;
          if (o.kind === 'cookie') {
            latest = `fp-${o.fp}`;
            s = cookie(s, latest, now);
          } else if (o.kind === 'status') s = status(s, o.message, now);
          // The workflow's loop: everything due by now runs, each attempt reading the newest cookie and failing.
          for (let guard = 0; guard < 50; guard++) {
            const step = nextStep(s, p, now);
            if (step.type === 'attempt') {
              if (step.trigger === 'new_cookie') {
                const id = s.incident!.id;
                cookieAttempts.set(id, [...(cookieAttempts.get(id) ?? []), now]);
              }
              s = applyAttempt(s, { ...failedAttempt(step, now, latest), action: step.action }, now, p);
            } else if (step.type === 'email') {
              s = applyEmail(
                s,
                { kind: step.kind, seq: step.seq, at: new Date(now).toISOString(), outcome: 'sent' },
                now,
              );
            } else break;
          }
          s = { ...s, journal: [] };
          largest = Math.max(largest, JSON.stringify(s).length);
          if (s.incident) {
            expect(s.incident.attempts.length).toBeLessThanOrEqual(ATTEMPTS_KEPT);
            expect(s.incident.triedCookies.length).toBeLessThanOrEqual(TRIED_COOKIES_KEPT);
          }
        }
        expect(largest).toBeLessThan(16_000);
        for (const times of cookieAttempts.values())
          for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(H);
      }),
      { numRuns: 200 },
    );
  });
});
