import type { SyncAnswer, SyncState } from './sync-rules';

/** Messages to the service worker from the popup, the options page and the content script. */
export type ExtensionMessage =
  | { type: 'linkedin-member'; memberId: string }
  | { type: 'pair'; apiUrl: string; token: string }
  | { type: 'view'; refresh?: boolean }
  | { type: 'checkpoint'; code: string }
  | { type: 'unpair' }
  | { type: 'accept-pairing' }
  | { type: 'reject-pairing' };

/** What the popup shows: never the token or a cookie. */
export interface PopupView {
  paired: boolean;
  needsPairing: boolean;
  signedIn: boolean;
  memberId: string | null;
  answer: (SyncAnswer & { at: number }) | null;
  lastError: SyncState['lastError'];
  backoffUntil: number | null;
  apiUrl: string | null;
  /** A pairing a web page offered, waiting for the user to accept it (never its token). */
  pendingPairing: { apiUrl: string; origin: string } | null;
}

export type CheckpointResult = {
  outcome: 'connected' | 'wrong_code' | 'expired' | 'needs_pairing' | 'no_checkpoint' | 'unavailable';
};

export const send = <T>(message: ExtensionMessage): Promise<T> => chrome.runtime.sendMessage(message) as Promise<T>;
