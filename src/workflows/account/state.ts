// The account state machine as plain functions: no Temporal, no I/O, no clock (callers pass `now`).
// The workflow is a thin loop around these; the unit tests drive them directly.
import type {
  AccountState,
  AccountStatus,
  AccountView,
  AccountWorkflowInput,
  AttemptRecord,
  AttemptTrigger,
  CookieUpdate,
  EmailKind,
  EmailRecord,
  Inbound,
  Incident,
  PauseRequest,
  ProviderIncidentClosed,
  Recovery,
  RecoveryPolicy,
  StatusEvent,
} from './contract';

export type EventClass = 'healthy' | 'needs-auth' | 'sync-error' | 'transient' | 'deleted' | 'other';

/** What each AccountStatus.message value Unipile sends means for the account. */
export function classifyMessage(message: string): EventClass {
  switch (message) {
    case 'OK':
    case 'CREATION_SUCCESS':
    case 'RECONNECTED':
    case 'SYNC_SUCCESS':
      return 'healthy';
    case 'CREDENTIALS':
    case 'PERMISSIONS':
      return 'needs-auth';
    case 'ERROR':
    case 'STOPPED':
      return 'sync-error';
    case 'CONNECTING':
      return 'transient';
    case 'DELETED':
      return 'deleted';
    default:
      return 'other';
  }
}

const SEEN_RECEIPTS_KEPT = 50;
/**
 * Under the cookie budget an incident lists only its last attempts and tried cookie fingerprints (counters keep the
 * totals): a user who sends a new cookie every minute for weeks must not grow the state carried by continue-as-new.
 */
export const ATTEMPTS_KEPT = 20;
export const TRIED_COOKIES_KEPT = 20;
export const MISMATCHED_COOKIES_KEPT = 20;

/** Unipile's answer when the provider has restricted the account: each further attempt could deepen it. */
export const RESTRICTED_ERROR = 'errors/account_restricted';
/** Unipile's answers when a cookie reconnect used another member's cookie. */
export const MISMATCH_ERRORS = ['errors/account_mismatch', 'errors/wrong_account', 'errors/session_mismatch'];

/**
 * A pause and a restriction override what the incident alone would show. States recorded before either existed have
 * neither, so for them this is the incident's own recovery, unchanged.
 */
function shown(state: AccountState, recovery: Recovery): Recovery {
  if (state.paused) return 'PAUSED';
  if (state.incident?.restricted) return 'RESTRICTED';
  return recovery;
}

/** What the incident alone shows: after a pause ends, the account is judged from it. */
function incidentRecovery(incident: Incident | null): Recovery {
  if (!incident) return 'NONE';
  if (incident.restricted) return 'RESTRICTED';
  return incident.action === 'none' || incident.emails.length > 0 ? 'WAITING_FOR_USER' : 'RETRYING';
}

export function initialState(
  input: Pick<AccountWorkflowInput, 'accountId' | 'provider' | 'userId' | 'cookie'>,
): AccountState {
  return {
    accountId: input.accountId,
    provider: input.provider ?? null,
    userId: input.userId ?? null,
    status: 'PENDING',
    recovery: 'NONE',
    incident: null,
    incidentCount: 0,
    cookie: input.cookie ?? null,
    lastError: null,
    completed: false,
    seenReceipts: [],
    journal: [],
    journalSeq: 0,
  };
}

function record(state: AccountState, type: string, now: number, data: Record<string, unknown>): AccountState {
  const seq = state.journalSeq + 1;
  return { ...state, journalSeq: seq, journal: [...state.journal, { seq, type, at: iso(now), data }] };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function closeIncident(state: AccountState, now: number, reason: string): AccountState {
  if (!state.incident) return state;
  const closed = record(state, 'incident_closed', now, { incidentId: state.incident.id, reason });
  const next: AccountState = { ...closed, incident: null, lastError: null };
  return { ...next, recovery: shown(next, 'NONE') };
}

function openIncident(state: AccountState, kind: Incident['kind'], now: number): AccountState {
  const id = state.incidentCount + 1;
  // Sync errors are worth restarting; a LinkedIn account with extension cookies is reconnected silently; any
  // other needs-auth account can only be fixed by its user.
  const action: Incident['action'] =
    kind === 'sync-error' ? 'restart' : state.provider === 'LINKEDIN' && usableCookie(state) ? 'reconnect' : 'none';
  const incident: Incident = {
    id,
    kind,
    openedAt: iso(now),
    action,
    attempts: [],
    emails: [],
    firstEmailAt: null,
    triedCookies: [],
    newCookiePending: false,
  };
  const opened = record(state, 'incident_opened', now, { incidentId: id, kind, action });
  const recovery = shown(opened, action === 'none' ? 'WAITING_FOR_USER' : 'RETRYING');
  return { ...opened, incident, incidentCount: id, recovery };
}

/** The stored extension cookie, unless Unipile said it belongs to another member. */
function usableCookie(state: AccountState): boolean {
  return !!state.cookie && !(state.mismatchedCookies ?? []).includes(state.cookie.fingerprint);
}

function applyCookie(state: AccountState, cookie: CookieUpdate, now: number): AccountState {
  const previous = state.cookie?.fingerprint;
  state = { ...state, cookie };
  const incident = state.incident;
  // The extension re-sends the same cookie regularly; only a different one, never tried in this incident, is
  // worth one extra attempt (also while waiting for the user).
  if (!incident || incident.kind !== 'needs-auth' || state.provider !== 'LINKEDIN') return state;
  if (cookie.fingerprint === previous || incident.triedCookies.includes(cookie.fingerprint)) return state;
  // Another member's cookie is never tried again for this account; a restricted account gets no silent attempt.
  if ((state.mismatchedCookies ?? []).includes(cookie.fingerprint) || incident.restricted) return state;
  if (incident.newCookiePending) return state;
  state = record(state, 'new_cookie', now, { incidentId: incident.id });
  return { ...state, incident: { ...incident, newCookiePending: true } };
}

function applyStatusEvent(state: AccountState, event: StatusEvent, now: number): AccountState {
  if (event.receiptId !== undefined) {
    if (state.seenReceipts.includes(event.receiptId)) return state;
    state = { ...state, seenReceipts: [...state.seenReceipts, event.receiptId].slice(-SEEN_RECEIPTS_KEPT) };
  }
  if (state.completed) return record(state, 'event_ignored', now, { message: event.message, reason: 'deleted' });
  if (!state.provider && event.accountType) state = { ...state, provider: event.accountType };

  const cls = classifyMessage(event.message);
  if (cls === 'other') return record(state, 'event_ignored', now, { message: event.message, reason: 'unknown' });

  const next: AccountStatus = cls === 'healthy' ? 'OK' : (event.message as AccountStatus);
  // Webhooks are retried and carry no id: the same status twice is one transition.
  if (next === state.status) return state;
  state = record(state, 'status_changed', now, { from: state.status, to: next, message: event.message });
  state = { ...state, status: next };

  switch (cls) {
    case 'healthy':
      return closeIncident(state, now, 'healthy_event');
    case 'deleted':
      return { ...closeIncident(state, now, 'deleted'), completed: true };
    case 'transient':
      return state;
    case 'needs-auth':
    case 'sync-error':
      if (state.incident?.kind === cls) return state;
      return openIncident(closeIncident(state, now, 'superseded'), cls, now);
  }
}

/** Applies one received signal. */
export function applyInbound(state: AccountState, inbound: Inbound, now: number): AccountState {
  if (inbound.type === 'status') return applyStatusEvent(state, inbound.event, now);
  if (inbound.type === 'cookie') return applyCookie(state, inbound.cookie, now);
  if (inbound.type === 'provider_closed') return releaseEmailHold(state, inbound.closed, now);
  const { userId, provider } = inbound.link;
  if (state.userId === userId && state.provider === provider) return state;
  return record({ ...state, userId, provider }, 'account_linked', now, { userId, provider });
}

export function maxAttempts(policy: RecoveryPolicy): number {
  return 1 + policy.maxRetries;
}

export type Step =
  | { type: 'complete' }
  | { type: 'idle' }
  | { type: 'attempt'; action: AttemptRecord['action']; trigger: AttemptTrigger; n: number; of: number }
  | { type: 'email'; kind: EmailKind; seq: number }
  | { type: 'wait'; until: number; purpose: 'attempt' | 'email' | 'pause'; summary: string };

const scheduled = (incident: Incident) => incident.attempts.filter((a) => a.trigger === 'schedule');
const lastAt = (incident: Incident, trigger: AttemptTrigger) =>
  incident.attempts.filter((a) => a.trigger === trigger).pop()?.at ?? null;

// The counters are authoritative once set (under the budget, where the lists are trimmed); before, the lists.
const scheduledDone = (incident: Incident): number => incident.scheduledCount ?? scheduled(incident).length;
const lastScheduledAt = (incident: Incident): string | null =>
  incident.scheduledCount !== undefined ? (incident.lastScheduledAt ?? null) : lastAt(incident, 'schedule');
const lastCookieAttemptAt = (incident: Incident): string | null =>
  incident.attemptCount !== undefined ? (incident.lastCookieAttemptAt ?? null) : lastAt(incident, 'new_cookie');

/** Under the budget, when the pending cookie may be tried: at once for the incident's first, then one per interval. */
function cookieSlot(incident: Incident, policy: RecoveryPolicy): number | null {
  const last = policy.cookieBudget ? lastCookieAttemptAt(incident) : null;
  return last ? Date.parse(last) + (policy.cookieReconnectIntervalMs ?? policy.retryIntervalMs) : null;
}

/** The UI label of an attempt, e.g. "reconnect attempt 2/5". */
export function attemptLabel(step: { action: string; trigger: AttemptTrigger; n: number; of: number }): string {
  if (step.trigger === 'new_cookie') return `${step.action} attempt (new cookie)`;
  if (step.trigger === 'manual') return `${step.action} attempt (requested)`;
  return `${step.action} attempt ${step.n}/${step.of}`;
}

/** What the workflow should do next, given the state and the time. */
export function nextStep(state: AccountState, policy: RecoveryPolicy, now: number): Step {
  if (state.completed) return { type: 'complete' };
  if (state.paused) {
    // An ended pause is lifted by applyTime before the next step is asked for.
    if (!state.paused.until) return { type: 'idle' };
    return { type: 'wait', until: Date.parse(state.paused.until), purpose: 'pause', summary: 'end of pause' };
  }
  const incident = state.incident;
  if (!incident) return { type: 'idle' };
  // A restricted account gets no silent attempt (each could deepen the restriction): only its email.
  if (incident.restricted) return emailStep(incident, policy, now);

  const of = maxAttempts(policy);
  const done = scheduledDone(incident);
  if (incident.newCookiePending) {
    const slot = cookieSlot(incident, policy);
    if (slot === null || slot <= now)
      return { type: 'attempt', action: 'reconnect', trigger: 'new_cookie', n: done, of };
    // The newest cookie waits for its slot (the attempt then reads the cookie stored at that time); whatever else is
    // due first goes first.
    const rest = nextStep({ ...state, incident: { ...incident, newCookiePending: false } }, policy, now);
    if (rest.type === 'attempt' || rest.type === 'email' || (rest.type === 'wait' && rest.until <= slot)) return rest;
    const summary = attemptLabel({ action: 'reconnect', trigger: 'new_cookie', n: done, of });
    return { type: 'wait', until: slot, purpose: 'attempt', summary };
  }
  if (incident.action !== 'none' && done < of && !mismatchedOnly(state, incident)) {
    const n = done + 1;
    const last = lastScheduledAt(incident);
    const spread = policy.providerAware ? jitter(state.accountId, n, policy.retryIntervalMs) : 0;
    const due = last && !incident.dueNow ? Date.parse(last) + policy.retryIntervalMs + spread : now;
    if (due <= now) return { type: 'attempt', action: incident.action, trigger: 'schedule', n, of };
    const summary = attemptLabel({ action: incident.action, trigger: 'schedule', n, of });
    return { type: 'wait', until: due, purpose: 'attempt', summary };
  }
  return emailStep(incident, policy, now);
}

/** A reconnect incident whose only cookie belongs to another member: nothing left to try silently. */
function mismatchedOnly(state: AccountState, incident: Incident): boolean {
  return incident.action === 'reconnect' && (state.mismatchedCookies ?? []).includes(state.cookie?.fingerprint ?? '');
}

/**
 * Up to a tenth of the interval, fixed per account and attempt: accounts that failed together (a provider's bad
 * hour) do not all retry in the same second. A hash, not a random number, so that replay computes the same.
 */
export function jitter(accountId: string, n: number, intervalMs: number): number {
  let h = 2166136261;
  for (const c of `${accountId}#${n}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return Math.floor(((h >>> 0) % 1000) * (intervalMs / 10_000));
}

/** The first email's kind: what the user must do differs when the provider restricted the account or the cookie. */
function firstEmailKind(incident: Incident): EmailKind {
  if (incident.restricted) return 'restricted';
  return incident.mismatch ? 'mismatch' : 'reconnect_needed';
}

function emailStep(incident: Incident, policy: RecoveryPolicy, now: number): Step {
  // An email that could not be sent is tried again later, never given up (and never fails the workflow).
  const retryAt = incident.emailRetryAt ? Date.parse(incident.emailRetryAt) : 0;
  const first = firstEmailKind(incident);
  const firstSent = incident.restricted
    ? incident.emails.some((e) => e.kind === 'restricted')
    : incident.emails.some((e) => e.kind === 'reconnect_needed' || e.kind === 'mismatch');
  if (!firstSent) {
    if (retryAt > now) return { type: 'wait', until: retryAt, purpose: 'email', summary: 'email retry' };
    // Waits for a provider-wide burst to be detected before its first failures are emailed.
    const settled = Date.parse(incident.openedAt) + (policy.providerAware ? (policy.emailSettleMs ?? 0) : 0);
    if (settled > now) return { type: 'wait', until: settled, purpose: 'email', summary: 'first email (settling)' };
    return held(incident, now) ?? { type: 'email', kind: first, seq: 0 };
  }
  // A restricted account gets one email; the reminders are for accounts the user can reconnect as they are.
  if (incident.restricted) return { type: 'idle' };
  const remindersSent = incident.emails.filter((e) => e.kind === 'reminder').length;
  const offset = policy.reminderScheduleMs[remindersSent];
  if (offset === undefined || !incident.firstEmailAt) return { type: 'idle' };
  const due = Date.parse(incident.firstEmailAt) + offset;
  const seq = remindersSent + 1;
  if (due <= now && retryAt > now) return { type: 'wait', until: retryAt, purpose: 'email', summary: 'email retry' };
  if (due <= now) return held(incident, now) ?? { type: 'email', kind: 'reminder', seq };
  return { type: 'wait', until: due, purpose: 'email', summary: `reminder ${seq}/${policy.reminderScheduleMs.length}` };
}

/** An email held by a provider incident waits for its close (a signal) or asks again at `recheckAt`. */
function held(incident: Incident, now: number): Step | null {
  const hold = incident.emailHold;
  if (!hold || Date.parse(hold.recheckAt) <= now) return null;
  const summary = `email held: ${hold.provider} provider incident`;
  return { type: 'wait', until: Date.parse(hold.recheckAt), purpose: 'email', summary };
}

/** The attempt "reconnect now" makes: a cookie reconnect for LinkedIn accounts with cookies, else a restart. */
export function manualAttempt(state: AccountState, policy: RecoveryPolicy): Extract<Step, { type: 'attempt' }> {
  // Another member's cookie is never sent again, not even on request.
  const action = state.provider === 'LINKEDIN' && usableCookie(state) ? 'reconnect' : 'restart';
  const n = state.incident ? scheduledDone(state.incident) : 0;
  return { type: 'attempt', action, trigger: 'manual', n, of: maxAttempts(policy) };
}

/** Records an attempt; `policy.cookieBudget` (set by the workflow behind a patch) keeps the incident's lists bounded. */
export function applyAttempt(
  state: AccountState,
  attempt: AttemptRecord,
  now: number,
  policy?: RecoveryPolicy,
): AccountState {
  const incident = state.incident;
  state = record(state, 'attempt', now, { incidentId: incident?.id ?? null, ...attempt });
  if (attempt.outcome === 'succeeded') {
    // Unipile answered AccountRestarted/AccountReconnected: the account is usable again.
    const answer = attempt.action === 'restart' ? 'AccountRestarted' : 'AccountReconnected';
    if (state.status !== 'OK') {
      state = record(state, 'status_changed', now, { from: state.status, to: 'OK', message: answer });
    }
    return { ...closeIncident(state, now, 'attempt_succeeded'), status: 'OK' };
  }
  const lastError = attempt.errorType ?? attempt.reason ?? 'attempt failed';
  if (!incident) return { ...state, lastError };
  const next = recordFailure(state, incident, attempt, lastError, policy);
  return policy?.providerAware ? applyRefusal(next, attempt, now) : next;
}

function recordFailure(
  state: AccountState,
  incident: Incident,
  attempt: AttemptRecord,
  lastError: string,
  policy?: RecoveryPolicy,
): AccountState {
  const triedCookies =
    attempt.fingerprint && !incident.triedCookies.includes(attempt.fingerprint)
      ? [...incident.triedCookies, attempt.fingerprint]
      : incident.triedCookies;
  const newCookiePending = attempt.trigger === 'new_cookie' ? false : incident.newCookiePending;
  if (!policy?.cookieBudget) {
    return {
      ...state,
      incident: { ...incident, attempts: [...incident.attempts, attempt], triedCookies, newCookiePending },
      lastError,
    };
  }
  const fingerprint = attempt.fingerprint;
  const tried = fingerprint ? [...incident.triedCookies.filter((f) => f !== fingerprint), fingerprint] : triedCookies;
  return {
    ...state,
    incident: {
      ...incident,
      attempts: [...incident.attempts, attempt].slice(-ATTEMPTS_KEPT),
      triedCookies: tried.slice(-TRIED_COOKIES_KEPT),
      // Any attempt that read the newest cookie has tried it: no extra attempt is owed for it.
      newCookiePending: fingerprint && fingerprint === state.cookie?.fingerprint ? false : newCookiePending,
      attemptCount: (incident.attemptCount ?? incident.attempts.length) + 1,
      scheduledCount: scheduledDone(incident) + (attempt.trigger === 'schedule' ? 1 : 0),
      lastScheduledAt: attempt.trigger === 'schedule' ? attempt.at : lastScheduledAt(incident),
      lastCookieAttemptAt: attempt.trigger === 'new_cookie' ? attempt.at : lastCookieAttemptAt(incident),
    },
    lastError,
  };
}

/**
 * What Unipile's refusal says about the account: restricted (stop every silent attempt) or the cookie of another
 * member (never send it again for this account). Also ends a resume's "due at once".
 */
function applyRefusal(state: AccountState, attempt: AttemptRecord, now: number): AccountState {
  let incident = state.incident;
  if (!incident) return state;
  if (incident.dueNow) incident = { ...incident, dueNow: false };
  if (attempt.errorType === RESTRICTED_ERROR && !incident.restricted) {
    state = record(state, 'restricted', now, { incidentId: incident.id, action: attempt.action });
    incident = { ...incident, restricted: true, newCookiePending: false, emailHold: null };
  }
  const fingerprint = attempt.fingerprint;
  if (attempt.action === 'reconnect' && fingerprint && MISMATCH_ERRORS.includes(attempt.errorType ?? '')) {
    const known = state.mismatchedCookies ?? [];
    if (!known.includes(fingerprint)) {
      state = record(state, 'cookie_mismatch', now, { incidentId: incident.id, errorType: attempt.errorType });
      state = { ...state, mismatchedCookies: [...known, fingerprint].slice(-MISMATCHED_COOKIES_KEPT) };
    }
    incident = { ...incident, mismatch: true, newCookiePending: false };
  }
  const next = { ...state, incident };
  return { ...next, recovery: shown(next, next.recovery) };
}

export function applyEmail(state: AccountState, email: EmailRecord, now: number): AccountState {
  const incident = state.incident;
  if (!incident) return state;
  state = record(state, 'email', now, { incidentId: incident.id, ...email });
  return {
    ...state,
    recovery: shown(state, 'WAITING_FOR_USER'),
    incident: {
      ...incident,
      emails: [...incident.emails, email],
      firstEmailAt: incident.firstEmailAt ?? email.at,
      emailRetryAt: null,
      ...(incident.emailHold !== undefined ? { emailHold: null } : {}),
    },
  };
}

/** The provider of this account is in incident: the email due waits for its close, asking again now and then. */
export function applyEmailHold(
  state: AccountState,
  hold: { provider: string; incidentId: number },
  policy: RecoveryPolicy,
  now: number,
): AccountState {
  const incident = state.incident;
  if (!incident) return state;
  const previous = incident.emailHold;
  const recheckAt = iso(now + (policy.providerHoldRecheckMs ?? 15 * 60_000));
  const since = previous?.incidentId === hold.incidentId ? previous.since : iso(now);
  // Journalled once per provider incident, not at every recheck.
  if (previous?.incidentId !== hold.incidentId) {
    state = record(state, 'email_held', now, { incidentId: incident.id, provider: hold.provider, by: hold.incidentId });
  }
  return { ...state, incident: { ...incident, emailHold: { ...hold, since, recheckAt } } };
}

/** The email is no longer held: its provider incident closed (signal) or a recheck found none open. */
export function clearEmailHold(state: AccountState, now: number, reason: string): AccountState {
  const incident = state.incident;
  if (!incident?.emailHold) return state;
  state = record(state, 'email_released', now, {
    incidentId: incident.id,
    provider: incident.emailHold.provider,
    reason,
  });
  return { ...state, incident: { ...incident, emailHold: null } };
}

function releaseEmailHold(state: AccountState, closed: ProviderIncidentClosed, now: number): AccountState {
  if (state.incident?.emailHold?.provider !== closed.provider) return state;
  return clearEmailHold(state, now, 'provider_incident_closed');
}

/** Pauses the account (or changes its pause): no attempt and no email until `until` or a resume. */
export function applyPause(state: AccountState, request: PauseRequest, now: number): AccountState {
  const paused = { since: state.paused?.since ?? iso(now), until: request.until, reason: request.reason };
  state = record(state, 'paused', now, { until: request.until, reason: request.reason });
  return { ...state, paused, recovery: 'PAUSED' };
}

/** Ends a pause: the account is judged by its current state at once (a scheduled attempt is due now). */
export function applyResume(state: AccountState, now: number, by: 'request' | 'until'): AccountState {
  if (!state.paused) return state;
  state = record(state, 'resumed', now, { by });
  const incident = state.incident && {
    ...state.incident,
    dueNow: state.incident.action !== 'none',
    emailHold: null,
  };
  return { ...state, paused: null, incident, recovery: incidentRecovery(incident) };
}

/** What time alone changes: a pause whose end has come is lifted. */
export function applyTime(state: AccountState, now: number): AccountState {
  const until = state.paused?.until;
  return until && Date.parse(until) <= now ? applyResume(state, now, 'until') : state;
}

/** The email activity ran out of retries (SMTP down for long): recorded, and tried again one interval later. */
export function applyEmailFailure(
  state: AccountState,
  failure: { kind: EmailKind; seq: number; reason: string },
  policy: RecoveryPolicy,
  now: number,
): AccountState {
  const incident = state.incident;
  if (!incident) return state;
  const retryAt = iso(now + policy.retryIntervalMs);
  state = record(state, 'email_failed', now, { incidentId: incident.id, ...failure, retryAt });
  return { ...state, lastError: 'email_failed', incident: { ...incident, emailRetryAt: retryAt } };
}

export function toView(state: AccountState, policy: RecoveryPolicy, now: number): AccountView {
  const step = nextStep(state, policy, now);
  const incident = state.incident;
  const waitingFor = step.type === 'wait' ? step.purpose : null;
  return {
    accountId: state.accountId,
    provider: state.provider,
    userId: state.userId,
    status: state.status,
    recovery: state.recovery,
    incident: incident && {
      id: incident.id,
      kind: incident.kind,
      openedAt: incident.openedAt,
      attempts: incident.attempts,
      ...(incident.attemptCount !== undefined && incident.attemptCount > incident.attempts.length
        ? { attemptsOmitted: incident.attemptCount - incident.attempts.length }
        : {}),
      maxAttempts: incident.action === 'none' ? 0 : maxAttempts(policy),
      emails: incident.emails,
      ...(incident.restricted ? { restricted: true } : {}),
      ...(incident.mismatch ? { mismatch: true } : {}),
    },
    nextAttemptAt:
      step.type === 'attempt' ? iso(now) : step.type === 'wait' && waitingFor === 'attempt' ? iso(step.until) : null,
    nextEmailAt:
      step.type === 'email' ? iso(now) : step.type === 'wait' && waitingFor === 'email' ? iso(step.until) : null,
    lastError: state.lastError,
    cookieAt: state.cookie?.at ?? null,
    completed: state.completed,
    paused: state.paused ?? null,
    emailHeld: incident?.emailHold
      ? {
          provider: incident.emailHold.provider,
          incidentId: incident.emailHold.incidentId,
          since: incident.emailHold.since,
        }
      : null,
  };
}

/** One-line Markdown for the Temporal UI's current details. */
export function describe(state: AccountState, policy: RecoveryPolicy, now: number): string {
  const parts = [`status **${state.status}**`, `recovery **${state.recovery}**`];
  const step = nextStep(state, policy, now);
  const incident = state.incident;
  if (state.paused) parts.push(`paused (${state.paused.reason}) until ${state.paused.until ?? 'resumed'}`);
  if (incident?.restricted) parts.push('restricted by the provider: no further attempts');
  else if (incident && incident.action !== 'none') {
    parts.push(`attempt ${scheduledDone(incident)} of ${maxAttempts(policy)}`);
  }
  if (incident?.mismatch) parts.push("the extension's cookie belongs to another member");
  if (step.type === 'wait') parts.push(`next: ${step.summary} at ${iso(step.until)}`);
  if (state.lastError) parts.push(`last error: ${state.lastError}`);
  return parts.join(' · ');
}
