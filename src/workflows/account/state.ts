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
  return { ...closed, incident: null, recovery: 'NONE', lastError: null };
}

function openIncident(state: AccountState, kind: Incident['kind'], now: number): AccountState {
  const id = state.incidentCount + 1;
  // Sync errors are worth restarting; a LinkedIn account with extension cookies is reconnected silently; any
  // other needs-auth account can only be fixed by its user.
  const action: Incident['action'] =
    kind === 'sync-error' ? 'restart' : state.provider === 'LINKEDIN' && state.cookie ? 'reconnect' : 'none';
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
  return { ...opened, incident, incidentCount: id, recovery: action === 'none' ? 'WAITING_FOR_USER' : 'RETRYING' };
}

function applyCookie(state: AccountState, cookie: CookieUpdate, now: number): AccountState {
  const previous = state.cookie?.fingerprint;
  state = { ...state, cookie };
  const incident = state.incident;
  // The extension re-sends the same cookie regularly; only a different one, never tried in this incident, is
  // worth one extra attempt (also while waiting for the user).
  if (!incident || incident.kind !== 'needs-auth' || state.provider !== 'LINKEDIN') return state;
  if (cookie.fingerprint === previous || incident.triedCookies.includes(cookie.fingerprint)) return state;
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
  | { type: 'wait'; until: number; purpose: 'attempt' | 'email'; summary: string };

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
  const incident = state.incident;
  if (!incident) return { type: 'idle' };

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
  if (incident.action !== 'none' && done < of) {
    const n = done + 1;
    const last = lastScheduledAt(incident);
    const due = last ? Date.parse(last) + policy.retryIntervalMs : now;
    if (due <= now) return { type: 'attempt', action: incident.action, trigger: 'schedule', n, of };
    const summary = attemptLabel({ action: incident.action, trigger: 'schedule', n, of });
    return { type: 'wait', until: due, purpose: 'attempt', summary };
  }

  // An email that could not be sent is tried again later, never given up (and never fails the workflow).
  const retryAt = incident.emailRetryAt ? Date.parse(incident.emailRetryAt) : 0;
  if (!incident.emails.some((e) => e.kind === 'reconnect_needed')) {
    if (retryAt > now) return { type: 'wait', until: retryAt, purpose: 'email', summary: 'email retry' };
    return { type: 'email', kind: 'reconnect_needed', seq: 0 };
  }
  const remindersSent = incident.emails.filter((e) => e.kind === 'reminder').length;
  const offset = policy.reminderScheduleMs[remindersSent];
  if (offset === undefined || !incident.firstEmailAt) return { type: 'idle' };
  const due = Date.parse(incident.firstEmailAt) + offset;
  const seq = remindersSent + 1;
  if (due <= now && retryAt > now) return { type: 'wait', until: retryAt, purpose: 'email', summary: 'email retry' };
  if (due <= now) return { type: 'email', kind: 'reminder', seq };
  return { type: 'wait', until: due, purpose: 'email', summary: `reminder ${seq}/${policy.reminderScheduleMs.length}` };
}

/** The attempt "reconnect now" makes: a cookie reconnect for LinkedIn accounts with cookies, else a restart. */
export function manualAttempt(state: AccountState, policy: RecoveryPolicy): Extract<Step, { type: 'attempt' }> {
  const action = state.provider === 'LINKEDIN' && state.cookie ? 'reconnect' : 'restart';
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

export function applyEmail(state: AccountState, email: EmailRecord, now: number): AccountState {
  const incident = state.incident;
  if (!incident) return state;
  state = record(state, 'email', now, { incidentId: incident.id, ...email });
  return {
    ...state,
    recovery: 'WAITING_FOR_USER',
    incident: {
      ...incident,
      emails: [...incident.emails, email],
      firstEmailAt: incident.firstEmailAt ?? email.at,
      emailRetryAt: null,
    },
  };
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
    },
    nextAttemptAt:
      step.type === 'attempt' ? iso(now) : step.type === 'wait' && waitingFor === 'attempt' ? iso(step.until) : null,
    nextEmailAt:
      step.type === 'email' ? iso(now) : step.type === 'wait' && waitingFor === 'email' ? iso(step.until) : null,
    lastError: state.lastError,
    cookieAt: state.cookie?.at ?? null,
    completed: state.completed,
  };
}

/** One-line Markdown for the Temporal UI's current details. */
export function describe(state: AccountState, policy: RecoveryPolicy, now: number): string {
  const parts = [`status **${state.status}**`, `recovery **${state.recovery}**`];
  const step = nextStep(state, policy, now);
  const incident = state.incident;
  if (incident && incident.action !== 'none') {
    parts.push(`attempt ${scheduledDone(incident)} of ${maxAttempts(policy)}`);
  }
  if (step.type === 'wait') parts.push(`next: ${step.summary} at ${iso(step.until)}`);
  if (state.lastError) parts.push(`last error: ${state.lastError}`);
  return parts.join(' · ');
}
