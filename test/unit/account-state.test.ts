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
} from '../../src/workflows/account-state';
import type { AccountState, AttemptRecord, RecoveryPolicy } from '../../src/workflows/definitions';

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
