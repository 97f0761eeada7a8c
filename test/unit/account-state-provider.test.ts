// The state machine's provider-aware rules at their real default timings: EMAIL_SETTLE 2 minutes, retries every
// hour, a held email asking again every 15 minutes, reminders after 24 h and 72 h.
import fc from 'fast-check';
import {
  applyAttempt,
  applyEmail,
  applyEmailHold,
  applyInbound,
  applyPause,
  applyResume,
  applyTime,
  describe as describeState,
  initialState,
  jitter,
  manualAttempt,
  nextStep,
  toView,
} from '../../src/workflows/account/state';
import type { AccountState, AttemptRecord, RecoveryPolicy } from '../../src/workflows/account/contract';

const M = 60_000;
const H = 60 * M;
const policy: RecoveryPolicy = {
  retryIntervalMs: H,
  maxRetries: 4,
  reminderScheduleMs: [24 * H, 72 * H],
  cookieStaleAfterMs: 24 * H,
  emailSettleMs: 2 * M,
  providerHoldRecheckMs: 15 * M,
  cookieBudget: true,
  providerAware: true,
};
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function status(state: AccountState, message: string, now = T0): AccountState {
  return applyInbound(state, { type: 'status', event: { message, receivedAt: new Date(now).toISOString() } }, now);
}
function cookie(state: AccountState, fingerprint: string, now = T0): AccountState {
  return applyInbound(state, { type: 'cookie', cookie: { fingerprint, at: new Date(now).toISOString() } }, now);
}
function failed(
  step: ReturnType<typeof nextStep>,
  now: number,
  errorType: string,
  fingerprint?: string,
): AttemptRecord {
  if (step.type !== 'attempt') throw new Error(`expected an attempt, got ${step.type}`);
  const { action, trigger, n, of } = step;
  return { action, trigger, n, of, at: new Date(now).toISOString(), outcome: 'failed', errorType, fingerprint };
}
const sent = (kind: 'reconnect_needed' | 'reminder' | 'restricted' | 'mismatch', seq: number, now: number) => ({
  kind,
  seq,
  at: new Date(now).toISOString(),
  outcome: 'sent' as const,
});
const gmail = () => status(initialState({ accountId: 'acc', provider: 'GOOGLE_OAUTH', userId: 'u' }), 'OK');
const linkedin = (fp = 'f1') =>
  status(cookie(initialState({ accountId: 'li', provider: 'LINKEDIN', userId: 'u' }), fp), 'OK');

describe('the first email settles before it is sent', () => {
  test('it waits EMAIL_SETTLE after the incident opens; an account that recovers meanwhile gets none', () => {
    const s = status(gmail(), 'CREDENTIALS');
    expect(nextStep(s, policy, T0)).toMatchObject({ type: 'wait', purpose: 'email', until: T0 + 2 * M });
    expect(nextStep(s, policy, T0 + 2 * M)).toEqual({ type: 'email', kind: 'reconnect_needed', seq: 0 });
    const recovered = status(s, 'OK', T0 + M);
    expect(nextStep(recovered, policy, T0 + 2 * M)).toEqual({ type: 'idle' });
  });

  test('runs recorded before the rules (no providerAware) email at once, as they did', () => {
    const s = status(gmail(), 'CREDENTIALS');
    expect(nextStep(s, { ...policy, providerAware: false }, T0)).toMatchObject({ type: 'email' });
  });
});

describe('an email held by a provider incident', () => {
  const due = () => status(gmail(), 'CREDENTIALS');
  const hold = { provider: 'GOOGLE_OAUTH', incidentId: 7 };

  test('waits for the close signal, asking again every PROVIDER_HOLD_RECHECK; the view says so', () => {
    const s = applyEmailHold(due(), hold, policy, T0 + 2 * M);
    expect(nextStep(s, policy, T0 + 3 * M)).toMatchObject({ type: 'wait', purpose: 'email', until: T0 + 17 * M });
    expect(toView(s, policy, T0 + 3 * M).emailHeld).toMatchObject({ provider: 'GOOGLE_OAUTH', incidentId: 7 });
    expect(describeState(s, policy, T0 + 3 * M)).toContain('email held: GOOGLE_OAUTH provider incident');
    // The recheck time has come: the workflow asks again (an email step, which asks before sending).
    expect(nextStep(s, policy, T0 + 17 * M)).toMatchObject({ type: 'email', kind: 'reconnect_needed' });
    // Asking again and still held: one journal entry for the whole hold, a new recheck time.
    const again = applyEmailHold(s, hold, policy, T0 + 17 * M);
    expect(again.journal.filter((e) => e.type === 'email_held')).toHaveLength(1);
    expect(nextStep(again, policy, T0 + 18 * M)).toMatchObject({ type: 'wait', until: T0 + 32 * M });
  });

  test("the provider's closing signal releases it at once; another provider's does not", () => {
    const s = applyEmailHold(due(), hold, policy, T0 + 2 * M);
    const other = applyInbound(s, { type: 'provider_closed', closed: { provider: 'LINKEDIN', incidentId: 1 } }, T0);
    expect(nextStep(other, policy, T0 + 5 * M)).toMatchObject({ type: 'wait' });
    const released = applyInbound(s, { type: 'provider_closed', closed: hold }, T0 + 5 * M);
    expect(nextStep(released, policy, T0 + 5 * M)).toEqual({ type: 'email', kind: 'reconnect_needed', seq: 0 });
    expect(released.journal.map((e) => e.type)).toContain('email_released');
  });

  test('reminders are held the same way', () => {
    let s = applyEmail(due(), sent('reconnect_needed', 0, T0 + 2 * M), T0 + 2 * M);
    const reminderAt = T0 + 2 * M + 24 * H;
    expect(nextStep(s, policy, reminderAt)).toEqual({ type: 'email', kind: 'reminder', seq: 1 });
    s = applyEmailHold(s, hold, policy, reminderAt);
    expect(nextStep(s, policy, reminderAt + M)).toMatchObject({ type: 'wait', until: reminderAt + 15 * M });
  });
});

describe('a restricted account', () => {
  test('stops silent attempts after errors/account_restricted, gets one restricted email and no reminders', () => {
    let s = status(gmail(), 'ERROR');
    s = applyAttempt(s, failed(nextStep(s, policy, T0), T0, 'errors/account_restricted'), T0, policy);
    expect(s.recovery).toBe('RESTRICTED');
    expect(s.journal.map((e) => e.type)).toContain('restricted');
    // No attempt an hour later (the schedule would have made one): the email, once settled.
    expect(nextStep(s, policy, T0 + H)).toEqual({ type: 'email', kind: 'restricted', seq: 0 });
    s = applyEmail(s, sent('restricted', 0, T0 + H), T0 + H);
    expect(s.recovery).toBe('RESTRICTED');
    for (const later of [T0 + 2 * H, T0 + 30 * H, T0 + 100 * H])
      expect(nextStep(s, policy, later)).toEqual({ type: 'idle' });
    expect(describeState(s, policy, T0 + 2 * H)).toContain('restricted by the provider');
  });

  test('a new extension cookie is not tried (silent); a healthy webhook closes it', () => {
    let s = status(linkedin(), 'CREDENTIALS');
    s = applyAttempt(s, failed(nextStep(s, policy, T0), T0, 'errors/account_restricted', 'f1'), T0, policy);
    s = cookie(s, 'f2', T0 + M);
    expect(s.incident?.newCookiePending).toBe(false);
    expect(nextStep(s, policy, T0 + 2 * M)).toMatchObject({ type: 'email', kind: 'restricted' });
    s = status(s, 'OK', T0 + 3 * M);
    expect(s).toMatchObject({ recovery: 'NONE', incident: null, status: 'OK' });
  });
});

describe('a mismatched cookie', () => {
  test('is never tried again for the account: no scheduled retry, no pending attempt, not on request either', () => {
    let s = status(linkedin('f1'), 'CREDENTIALS');
    const step = nextStep(s, policy, T0);
    expect(step).toMatchObject({ type: 'attempt', action: 'reconnect' });
    s = applyAttempt(s, failed(step, T0, 'errors/account_mismatch', 'f1'), T0, policy);
    expect(s.mismatchedCookies).toEqual(['f1']);
    // An hour later the schedule would retry with the same cookie: it does not; the user is emailed instead.
    expect(nextStep(s, policy, T0 + H)).toEqual({ type: 'email', kind: 'mismatch', seq: 0 });
    expect(manualAttempt(s, policy).action).toBe('restart');
    // The extension sends the same cookie again: nothing owed.
    s = cookie(s, 'f2', T0 + 2 * M);
    s = cookie(s, 'f1', T0 + 3 * M);
    expect(s.incident?.triedCookies).toEqual(['f1']);
  });

  test('a different cookie (the right member signed in) is tried', () => {
    let s = status(linkedin('f1'), 'CREDENTIALS');
    s = applyAttempt(s, failed(nextStep(s, policy, T0), T0, 'errors/wrong_account', 'f1'), T0, policy);
    s = cookie(s, 'f2', T0 + M);
    expect(nextStep(s, policy, T0 + M)).toMatchObject({ type: 'attempt', action: 'reconnect', trigger: 'new_cookie' });
  });
});

describe('pause and resume', () => {
  test('no attempt and no email while paused, events still recorded; `until` lifts it and the account is judged at once', () => {
    let s = applyPause(gmail(), { until: new Date(T0 + 3 * H).toISOString(), reason: 'customer asked' }, T0);
    expect(s.recovery).toBe('PAUSED');
    s = status(s, 'ERROR', T0 + M);
    expect(s).toMatchObject({ status: 'ERROR', recovery: 'PAUSED' });
    expect(nextStep(s, policy, T0 + M)).toEqual({
      type: 'wait',
      until: T0 + 3 * H,
      purpose: 'pause',
      summary: 'end of pause',
    });
    expect(toView(s, policy, T0 + M).paused).toMatchObject({ reason: 'customer asked' });
    expect(applyTime(s, T0 + 3 * H - 1)).toBe(s);
    s = applyTime(s, T0 + 3 * H);
    expect(s.recovery).toBe('RETRYING');
    expect(nextStep(s, policy, T0 + 3 * H)).toMatchObject({ type: 'attempt', action: 'restart', n: 1 });
  });

  test('a pause without end waits for a resume; a resume makes the next scheduled attempt due at once', () => {
    let s = status(gmail(), 'ERROR');
    s = applyAttempt(s, failed(nextStep(s, policy, T0), T0, 'AccountFailedToRestart'), T0, policy);
    s = applyPause(s, { until: null, reason: 'maintenance' }, T0 + M);
    expect(nextStep(s, policy, T0 + 50 * H)).toEqual({ type: 'idle' });
    s = applyResume(s, T0 + 10 * M, 'request');
    expect(s.recovery).toBe('RETRYING');
    expect(nextStep(s, policy, T0 + 10 * M)).toMatchObject({ type: 'attempt', n: 2 });
    s = applyAttempt(
      s,
      failed(nextStep(s, policy, T0 + 10 * M), T0 + 10 * M, 'AccountFailedToRestart'),
      T0 + 10 * M,
      policy,
    );
    expect(nextStep(s, policy, T0 + 11 * M)).toMatchObject({ type: 'wait', purpose: 'attempt' });
  });

  test('a healthy event while paused closes the incident and keeps the pause', () => {
    let s = applyPause(status(gmail(), 'CREDENTIALS'), { until: null, reason: 'r' }, T0);
    s = status(s, 'OK', T0 + M);
    expect(s).toMatchObject({ incident: null, recovery: 'PAUSED' });
    expect(applyResume(s, T0 + 2 * M, 'request').recovery).toBe('NONE');
  });
});

describe('spread retries', () => {
  test('each account retries within a tenth of the interval after it, fixed per account, not in lockstep', () => {
    const offsets = Array.from({ length: 1000 }, (_, i) => jitter(`acc-${i}`, 2, H));
    for (const o of offsets) expect(o >= 0 && o < H / 10).toBe(true);
    expect(new Set(offsets).size).toBeGreaterThan(500);
    expect(jitter('acc-1', 2, H)).toBe(jitter('acc-1', 2, H));
  });
});

describe('property: paused and restricted accounts make no silent move', () => {
  const action = fc.oneof(
    fc.constantFrom('OK', 'ERROR', 'CREDENTIALS', 'CONNECTING').map((m) => ({ t: 'status' as const, m })),
    fc.constantFrom('f1', 'f2', 'f3').map((f) => ({ t: 'cookie' as const, f })),
    fc.constantFrom('errors/account_restricted', 'errors/account_mismatch', 'AccountFailedToRestart').map((e) => ({
      t: 'fail' as const,
      e,
    })),
    fc.constant({ t: 'pause' as const }),
    fc.constant({ t: 'resume' as const }),
    fc.constant({ t: 'hold' as const }),
    fc.constant({ t: 'email' as const }),
  );
  test('no attempt or email is ever due while paused; none but the email while restricted', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(action, fc.integer({ min: 0, max: 3 * H })), { maxLength: 40 }), (actions) => {
        let s = linkedin();
        let now = T0;
        for (const [a, dt] of actions) {
          now += dt;
          s = applyTime(s, now);
          const step = nextStep(s, policy, now);
          if (s.paused) expect(['idle', 'wait']).toContain(step.type);
          if (s.incident?.restricted) expect(step.type).not.toBe('attempt');
          if (step.type === 'attempt' && step.action === 'reconnect' && step.trigger === 'schedule') {
            expect(s.mismatchedCookies ?? []).not.toContain(s.cookie?.fingerprint);
          }
          if (a.t === 'status') s = status(s, a.m, now);
          else if (a.t === 'cookie') s = cookie(s, a.f, now);
          else if (a.t === 'fail' && step.type === 'attempt') {
            s = applyAttempt(s, failed(step, now, a.e, s.cookie?.fingerprint), now, policy);
          } else if (a.t === 'pause') s = applyPause(s, { until: new Date(now + H).toISOString(), reason: 'r' }, now);
          else if (a.t === 'resume') s = applyResume(s, now, 'request');
          else if (a.t === 'hold') s = applyEmailHold(s, { provider: 'LINKEDIN', incidentId: 1 }, policy, now);
          else if (a.t === 'email' && step.type === 'email') s = applyEmail(s, sent(step.kind, step.seq, now), now);
          expect(s.recovery === 'PAUSED').toBe(!!s.paused);
          if (!s.paused && s.incident?.restricted) expect(s.recovery).toBe('RESTRICTED');
        }
      }),
      { numRuns: 500 },
    );
  });
});
