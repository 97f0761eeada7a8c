/**
 * When the extension sends LinkedIn cookies, and what it does with the answer: plain functions over a small state
 * kept in chrome.storage.local, so the rules are unit-tested without a browser. The state never holds a cookie value,
 * only a fingerprint of what was last sent.
 */
import type { CookieAnswer } from '../../src/common/extension-api';

/** The server calls a cookie stale after COOKIE_STALE_AFTER (24 h by default): send well before that. */
export const RESEND_EVERY_MS = 4 * 60 * 60 * 1000;
/** The periodic alarm that checks whether a resend is due (Chrome's minimum period is 30 s). */
export const CHECK_EVERY_MINUTES = 30;
/** While a connection is on its way up (or waits for a code), ask again this soon. */
export const FOLLOW_UP_MS = 30 * 1000;
/** How long follow-ups go on after the last change. */
export const FOLLOW_UP_FOR_MS = 10 * 60 * 1000;
const FIRST_BACKOFF_MS = 60 * 1000;
const MAX_BACKOFF_MS = 60 * 60 * 1000;

export interface Pairing {
  apiUrl: string;
  token: string;
}

/** What the cookie-sync endpoint answered (202), as the API declares it. */
export type SyncAnswer = CookieAnswer;

export interface SyncState {
  pairing: Pairing | null;
  /** The API refused the token (401/403): nothing is sent until the user pairs again. */
  needsPairing: boolean;
  /** The member id last seen on a linkedin.com page. */
  memberId: string | null;
  /**
   * What was sent last and when; `settlingSince` is when the answers for these cookies started saying the connection
   * is settling, so follow-ups stop FOLLOW_UP_FOR_MS after that however many were sent (absent in older storage).
   */
  lastSent: { fingerprint: string; at: number; settlingSince?: number } | null;
  backoff: { until: number; failures: number } | null;
  answer: (SyncAnswer & { at: number }) | null;
  lastError: { status: number; code: string; message: string; at: number } | null;
  /** A pairing a web page offered while this one worked: used only once the user accepts it in the popup. */
  pendingPairing: PendingPairing | null;
}

export interface PendingPairing extends Pairing {
  /** The page that offered it, shown to the user. */
  origin: string;
  at: number;
}

export const initialState = (): SyncState => ({
  pairing: null,
  needsPairing: false,
  memberId: null,
  lastSent: null,
  backoff: null,
  answer: null,
  lastError: null,
  pendingPairing: null,
});

/** Why a sync runs: the browser started, a cookie or the member changed, an alarm, pairing, or the user asked. */
export type SyncTrigger = 'startup' | 'cookie' | 'member' | 'alarm' | 'paired' | 'user';

/** What the browser holds now (the li_at value itself stays out of the rules). */
export interface BrowserView {
  hasLiAt: boolean;
  /** Fingerprint of li_at, li_a, member id and user agent together. */
  fingerprint: string;
}

export type SyncDecision =
  | { send: true }
  | {
      send: false;
      reason: 'not_paired' | 'needs_pairing' | 'signed_out' | 'member_unknown' | 'backing_off' | 'up_to_date';
      /** When to look again (for backing_off: the end of the backoff). */
      retryAt?: number;
    };

/** An answer that is not final yet: the connection is starting, or waits for a verification code. */
export function isSettling(answer: SyncAnswer | null): boolean {
  if (!answer) return false;
  return (
    answer.accountId === null ||
    answer.recovery === 'CHECKPOINT' ||
    answer.status === 'PENDING' ||
    answer.status === 'CONNECTING'
  );
}

export function decideSync(state: SyncState, view: BrowserView, now: number, trigger: SyncTrigger): SyncDecision {
  if (!state.pairing) return { send: false, reason: 'not_paired' };
  if (state.needsPairing) return { send: false, reason: 'needs_pairing' };
  if (!view.hasLiAt) return { send: false, reason: 'signed_out' };
  if (!state.memberId) return { send: false, reason: 'member_unknown' };
  // The server asked us to slow down (429/5xx): even a new cookie waits, and goes at the end of the backoff.
  if (state.backoff && state.backoff.until > now)
    return { send: false, reason: 'backing_off', retryAt: state.backoff.until };
  const last = state.lastSent;
  if (!last || last.fingerprint !== view.fingerprint) return { send: true };
  if (trigger === 'startup' || trigger === 'paired' || trigger === 'user') return { send: true };
  if (now - last.at >= RESEND_EVERY_MS) return { send: true };
  const answeredAt = state.answer?.at ?? 0;
  const settlingSince = last.settlingSince ?? last.at;
  if (isSettling(state.answer) && now - answeredAt >= FOLLOW_UP_MS && now - settlingSince < FOLLOW_UP_FOR_MS)
    return { send: true };
  return { send: false, reason: 'up_to_date' };
}

/** An HTTP answer as the background worker saw it; status 0 when the API could not be reached. */
export interface HttpOutcome {
  status: number;
  retryAfter: string | null;
  body: unknown;
}

/** Retry-After in seconds or as an HTTP date, in milliseconds from now; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function errorOf(outcome: HttpOutcome, now: number): NonNullable<SyncState['lastError']> {
  const error = (outcome.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return {
    status: outcome.status,
    code:
      typeof error?.code === 'string' ? error.code : outcome.status === 0 ? 'unreachable' : `http_${outcome.status}`,
    message: typeof error?.message === 'string' ? error.message : 'The server could not be reached',
    at: now,
  };
}

/** The state after an answer to a sync that sent `fingerprint`. */
export function afterSync(state: SyncState, fingerprint: string, outcome: HttpOutcome, now: number): SyncState {
  if (outcome.status === 202) {
    const answer = outcome.body as SyncAnswer;
    // Follow-ups for the same cookies keep the time the settling began; new cookies or a settled answer restart it.
    const previous = state.lastSent;
    const settlingSince =
      previous?.fingerprint === fingerprint && isSettling(state.answer) ? (previous.settlingSince ?? previous.at) : now;
    return {
      ...state,
      lastSent: { fingerprint, at: now, ...(isSettling(answer) ? { settlingSince } : {}) },
      backoff: null,
      answer: { ...answer, at: now },
      lastError: null,
    };
  }
  if (outcome.status === 401 || outcome.status === 403) {
    return { ...state, needsPairing: true, backoff: null, lastError: errorOf(outcome, now) };
  }
  if (outcome.status === 0 || outcome.status === 429 || outcome.status >= 500) {
    const failures = (state.backoff?.failures ?? 0) + 1;
    const exponential = Math.min(FIRST_BACKOFF_MS * 2 ** (failures - 1), MAX_BACKOFF_MS);
    const asked = retryAfterMs(outcome.retryAfter, now) ?? 0;
    return {
      ...state,
      backoff: { until: now + Math.max(asked, exponential), failures },
      lastError: errorOf(outcome, now),
    };
  }
  // Any other refusal (400, 409, 413…) would be refused again for the same cookies: wait for a change or the
  // periodic resend rather than repeating it.
  return { ...state, lastSent: { fingerprint, at: now }, backoff: null, lastError: errorOf(outcome, now) };
}

/** Origins the extension may talk to, from its manifest's host permissions (the port is not part of a pattern). */
export function apiUrlAllowed(apiUrl: string, hostPermissions: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  return hostPermissions.some((pattern) => {
    const match = /^(https?):\/\/([^/]+)\/\*$/.exec(pattern);
    return (
      !!match && `${match[1]}:` === url.protocol && match[2] === url.hostname && !url.hostname.endsWith('linkedin.com')
    );
  });
}

/** A pairing request, from the options page or the product's web page; null when it is not one. */
export function pairingFrom(message: unknown, hostPermissions: readonly string[]): Pairing | null {
  if (typeof message !== 'object' || message === null) return null;
  const { apiUrl, token } = message as { apiUrl?: unknown; token?: unknown };
  if (typeof apiUrl !== 'string' || typeof token !== 'string') return null;
  const trimmed = token.trim();
  if (!/^[\x21-\x7e]{16,512}$/.test(trimmed) || !apiUrlAllowed(apiUrl, hostPermissions)) return null;
  return { apiUrl: apiUrl.replace(/\/+$/, ''), token: trimmed };
}

/** How long an offered pairing waits for the user; after that it cannot be accepted any more. */
export const PENDING_PAIRING_FOR_MS = 10 * 60 * 1000;

/** The state once `pairing` is the one in use: what was sent, backoffs and refusals belonged to the previous one. */
function usingPairing(state: SyncState, pairing: Pairing): SyncState {
  return {
    ...state,
    pairing,
    needsPairing: false,
    backoff: null,
    lastSent: null,
    lastError: null,
    pendingPairing: null,
  };
}

/** The user's own pairing, typed on the options page: applied at once. */
export function pairedByUser(state: SyncState, pairing: Pairing): SyncState {
  return usingPairing(state, pairing);
}

/**
 * A pairing offered by a page of the product's web app (externally_connectable). It pairs a browser that is not
 * paired, or whose key the API refused, at once. A working pairing is never replaced this way: a script on the
 * app's origin could otherwise send this browser's LinkedIn session to another user. The offer is held until the
 * user accepts it in the popup.
 */
export function offerPairing(
  state: SyncState,
  pairing: Pairing,
  origin: string,
  now: number,
): { state: SyncState; result: 'paired' | 'pending' | 'unchanged' } {
  if (!state.pairing || state.needsPairing) return { state: usingPairing(state, pairing), result: 'paired' };
  if (state.pairing.apiUrl === pairing.apiUrl && state.pairing.token === pairing.token)
    return { state, result: 'unchanged' };
  return { state: { ...state, pendingPairing: { ...pairing, origin, at: now } }, result: 'pending' };
}

/** A waiting offer, if it is still in time. */
export function livePendingPairing(state: SyncState, now: number): PendingPairing | null {
  const pending = state.pendingPairing;
  return pending && now - pending.at <= PENDING_PAIRING_FOR_MS ? pending : null;
}

/** The user accepted the offered pairing; null when none waits (or it came too long ago). */
export function acceptPendingPairing(state: SyncState, now: number): SyncState | null {
  const pending = livePendingPairing(state, now);
  if (!pending) return null;
  return usingPairing(state, { apiUrl: pending.apiUrl, token: pending.token });
}

/** The user refused the offered pairing: the current one stays as it was. */
export function rejectPendingPairing(state: SyncState): SyncState {
  return { ...state, pendingPairing: null };
}
