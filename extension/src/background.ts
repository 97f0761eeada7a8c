/**
 * The service worker: reads LinkedIn's cookies, sends them to the product's API when the rules say so
 * (sync-rules.ts), and answers the popup, the options page, the content script and the product's own web page.
 * Listeners are registered at the top level, as MV3 requires for a worker that is woken by events.
 */
import type { CheckpointBody, CookieBody } from '../../src/common/extension-api';
import { type ExtensionMessage, type CheckpointResult, type PopupView } from './messages';
import {
  acceptPendingPairing,
  afterSync,
  CHECK_EVERY_MINUTES,
  decideSync,
  FOLLOW_UP_MS,
  initialState,
  isSettling,
  livePendingPairing,
  offerPairing,
  pairedByUser,
  pairingFrom,
  rejectPendingPairing,
  type BrowserView,
  type HttpOutcome,
  type SyncState,
  type SyncTrigger,
} from './sync-rules';

const STATE_KEY = 'keeper';
const LINKEDIN_COOKIES = new Set(['li_at', 'li_a']);

async function loadState(): Promise<SyncState> {
  const stored = (await chrome.storage.local.get(STATE_KEY))[STATE_KEY] as Partial<SyncState> | undefined;
  return { ...initialState(), ...stored };
}

async function saveState(state: SyncState): Promise<void> {
  await chrome.storage.local.set({ [STATE_KEY]: state });
}

const hostPermissions = (): string[] => chrome.runtime.getManifest().host_permissions ?? [];

async function linkedinCookies(): Promise<{ liAt?: string; liA?: string }> {
  const cookies = await chrome.cookies.getAll({ domain: 'linkedin.com' });
  const named = (name: string) => cookies.find((c) => c.name === name && c.domain.endsWith('linkedin.com'))?.value;
  return { liAt: named('li_at'), liA: named('li_a') };
}

async function fingerprintOf(parts: (string | null | undefined)[]): Promise<string> {
  const bytes = new TextEncoder().encode(parts.map((p) => p ?? '').join('\u0000'));
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function post(url: string, token: string, body: unknown): Promise<HttpOutcome> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      credentials: 'omit',
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: json };
  } catch {
    return { status: 0, retryAfter: null, body: null };
  }
}

async function scheduleAlarms(state: SyncState): Promise<void> {
  if (state.backoff && state.backoff.until > Date.now()) {
    await chrome.alarms.create('retry', { when: state.backoff.until });
  } else if (isSettling(state.answer)) {
    await chrome.alarms.create('retry', { when: Date.now() + FOLLOW_UP_MS });
  }
  await updateBadge(state);
}

/** A badge when the user must act: pair again, accept an offered pairing, or answer LinkedIn's verification. */
async function updateBadge(state: SyncState): Promise<void> {
  const act = state.needsPairing || !!state.answer?.checkpoint || !!livePendingPairing(state, Date.now());
  await chrome.action.setBadgeText({ text: act ? '!' : '' });
  if (act) await chrome.action.setBadgeBackgroundColor({ color: '#a40e26' });
}

async function syncOnce(trigger: SyncTrigger): Promise<SyncState> {
  const state = await loadState();
  const { liAt, liA } = await linkedinCookies();
  const userAgent = navigator.userAgent;
  const view: BrowserView = {
    hasLiAt: !!liAt,
    fingerprint: await fingerprintOf([liAt, liA, state.memberId, userAgent]),
  };
  const decision = decideSync(state, view, Date.now(), trigger);
  if (!decision.send) {
    await scheduleAlarms(state);
    return state;
  }
  const outcome = await post(`${state.pairing!.apiUrl}/api/extension/linkedin-cookies`, state.pairing!.token, {
    // decideSync sends only with a li_at cookie and a known member id.
    li_at: liAt!,
    ...(liA ? { li_a: liA } : {}),
    user_agent: userAgent,
    linkedin_member_id: state.memberId!,
  } satisfies CookieBody);
  const next = afterSync(state, view.fingerprint, outcome, Date.now());
  await saveState(next);
  await scheduleAlarms(next);
  return next;
}

/**
 * Every change of the stored state runs in this one queue: a sync reads the state, waits for the API, then writes
 * it back, and a member id or a pairing arriving meanwhile must not be overwritten by that write.
 */
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(task: () => Promise<T>): Promise<T> {
  const run = queue.then(task);
  queue = run.catch(() => undefined);
  return run;
}
const sync = (trigger: SyncTrigger): Promise<SyncState> => serial(() => syncOnce(trigger));
const update = (change: (state: SyncState) => SyncState | null): Promise<boolean> =>
  serial(async () => {
    const next = change(await loadState());
    if (next) await saveState(next);
    return next !== null;
  });

const REFUSED_PAIRING = { ok: false, error: 'That API address or token cannot be used by this extension.' };

/** The user's own pairing, from the options page. */
async function pair(message: unknown): Promise<{ ok: boolean; error?: string }> {
  const pairing = pairingFrom(message, hostPermissions());
  if (!pairing) return REFUSED_PAIRING;
  await update((state) => pairedByUser(state, pairing));
  await sync('paired');
  return { ok: true };
}

/** A pairing offered by the product's web page: it may not replace a working pairing without the user's consent. */
async function pairFromPage(
  message: unknown,
  origin: string,
): Promise<{ ok: boolean; pending?: boolean; error?: string }> {
  const pairing = pairingFrom(message, hostPermissions());
  if (!pairing) return REFUSED_PAIRING;
  const seen = { result: 'unchanged' as 'paired' | 'pending' | 'unchanged' };
  await update((state) => {
    const offer = offerPairing(state, pairing, origin, Date.now());
    seen.result = offer.result;
    return offer.result === 'unchanged' ? null : offer.state;
  });
  if (seen.result === 'pending') {
    await updateBadge(await loadState());
    return { ok: false, pending: true };
  }
  await sync('paired');
  return { ok: true };
}

async function settlePendingPairing(accept: boolean): Promise<{ ok: boolean }> {
  const seen = { accepted: false };
  await update((state) => {
    const next = accept ? acceptPendingPairing(state, Date.now()) : null;
    seen.accepted = next !== null;
    return next ?? rejectPendingPairing(state);
  });
  if (seen.accepted) await sync('paired');
  else await updateBadge(await loadState());
  // Accepting an offer that expired meanwhile fails; it is dropped all the same.
  return { ok: seen.accepted || !accept };
}

async function answerCheckpoint(code: string): Promise<CheckpointResult> {
  const state = await loadState();
  const checkpoint = state.answer?.checkpoint;
  if (!state.pairing || !checkpoint) return { outcome: 'no_checkpoint' };
  const outcome = await post(
    `${state.pairing.apiUrl}/api/accounts/${encodeURIComponent(checkpoint.accountId)}/checkpoint`,
    state.pairing.token,
    { code } satisfies CheckpointBody,
  );
  const errorCode = (outcome.body as { error?: { code?: string } } | null)?.error?.code;
  let result: CheckpointResult;
  if (outcome.status === 200) result = { outcome: 'connected' };
  else if (errorCode === 'invalid_checkpoint_solution') result = { outcome: 'wrong_code' };
  else if (outcome.status === 401 || outcome.status === 403) {
    await update((current) => ({ ...current, needsPairing: true }));
    result = { outcome: 'needs_pairing' };
  } else if (outcome.status === 409 || errorCode === 'checkpoint_failed') result = { outcome: 'expired' };
  else result = { outcome: 'unavailable' };
  if (result.outcome !== 'wrong_code') await sync('user');
  return result;
}

async function popupView(refresh: boolean): Promise<PopupView> {
  const state = refresh ? await sync('user') : await loadState();
  const { liAt } = await linkedinCookies();
  const pending = livePendingPairing(state, Date.now());
  return {
    paired: !!state.pairing,
    needsPairing: state.needsPairing,
    signedIn: !!liAt,
    memberId: state.memberId,
    answer: state.answer,
    lastError: state.lastError,
    backoffUntil: state.backoff?.until ?? null,
    apiUrl: state.pairing?.apiUrl ?? null,
    pendingPairing: pending ? { apiUrl: pending.apiUrl, origin: pending.origin } : null,
  };
}

async function memberSeen(memberId: string): Promise<void> {
  // Another LinkedIn member in this browser (the user switched accounts): a different account for the server.
  const changed = await update((state) => (state.memberId === memberId ? null : { ...state, memberId, answer: null }));
  if (changed) await sync('member');
}

const fromExtensionPage = (sender: chrome.runtime.MessageSender): boolean =>
  !!sender.url?.startsWith(chrome.runtime.getURL(''));

async function handle(message: ExtensionMessage, sender: chrome.runtime.MessageSender): Promise<unknown> {
  switch (message.type) {
    case 'linkedin-member':
      // Only our content script, on a linkedin.com page, reports the member.
      if (!sender.tab || !sender.url?.startsWith('https://www.linkedin.com/')) return { ok: false };
      if (typeof message.memberId !== 'string' || !/^\d{1,20}$/.test(message.memberId)) return { ok: false };
      await memberSeen(message.memberId);
      return { ok: true };
    case 'pair':
    case 'accept-pairing':
    case 'reject-pairing':
    case 'unpair':
      // Pairing is changed only from the extension's own pages (options, popup), never from a content script.
      if (!fromExtensionPage(sender)) return { ok: false };
      if (message.type === 'pair') return pair(message);
      if (message.type === 'unpair') {
        await update((state) => ({ ...initialState(), memberId: state.memberId }));
        await updateBadge(initialState());
        return { ok: true };
      }
      return settlePendingPairing(message.type === 'accept-pairing');
    case 'view':
      return popupView(message.refresh === true);
    case 'checkpoint':
      if (typeof message.code !== 'string' || !message.code.trim()) return { outcome: 'wrong_code' };
      return answerCheckpoint(message.code.trim());
    default:
      return { ok: false };
  }
}

chrome.runtime.onMessage.addListener((message: ExtensionMessage, sender, sendResponse) => {
  if (sender.id !== chrome.runtime.id) return false;
  handle(message, sender).then(sendResponse, () => sendResponse({ ok: false }));
  return true; // the answer comes asynchronously
});

// The product's own web page (externally_connectable) may hand over the token: pairing only, nothing else.
// A working pairing is not replaced from there without the user's consent in the popup.
chrome.runtime.onMessageExternal.addListener((message: { type?: string }, sender, sendResponse) => {
  const origin = sender.origin ?? (sender.url ? new URL(sender.url).origin : null);
  if (message?.type !== 'pair' || !origin) {
    sendResponse({ ok: false });
    return false;
  }
  pairFromPage(message, origin).then(sendResponse, () => sendResponse({ ok: false }));
  return true;
});

chrome.cookies.onChanged.addListener(({ cookie, removed }) => {
  if (removed || !LINKEDIN_COOKIES.has(cookie.name) || !cookie.domain.endsWith('linkedin.com')) return;
  void sync('cookie');
});

// 'check' every CHECK_EVERY_MINUTES (is a resend due?), 'retry' at the end of a backoff or for a follow-up.
chrome.alarms.onAlarm.addListener(() => void sync('alarm'));

const start = async (): Promise<void> => {
  await chrome.alarms.create('check', { periodInMinutes: CHECK_EVERY_MINUTES });
  await sync('startup');
};
chrome.runtime.onInstalled.addListener(() => void start());
chrome.runtime.onStartup.addListener(() => void start());
