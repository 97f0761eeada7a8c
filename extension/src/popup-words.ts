/** What the popup says, in plain words, for what the service worker knows. Pure, so it is unit-tested. */
import { plainState } from '../../src/common/plain-state';
import type { PopupView } from './messages';

export interface PopupWords {
  headline: string;
  tone: 'ok' | 'wait' | 'act' | 'gone';
  detail: string;
  /** Show the verification-code form. */
  askCode: boolean;
  /** Show the button that opens the pairing page. */
  askPairing: boolean;
  /** Show Accept / Refuse for a pairing a web page offered. */
  askAcceptPairing: boolean;
}

const checkpointNames: Record<string, string> = {
  '2FA': 'the code from your authenticator app',
  OTP: 'the code LinkedIn sent you by email or text message',
  IN_APP_VALIDATION: 'nothing: approve the sign-in in the LinkedIn app, then press Check again',
  PHONE_REGISTER: 'a phone number for LinkedIn',
  CAPTCHA: 'a check LinkedIn shows on linkedin.com',
};

export function popupWords(view: PopupView, now: number): PopupWords {
  const words = (headline: string, tone: PopupWords['tone'], detail: string, extra: Partial<PopupWords> = {}) => ({
    headline,
    tone,
    detail,
    askCode: false,
    askPairing: false,
    askAcceptPairing: false,
    ...extra,
  });
  // First: a web page asked to move this browser to another key; nothing changes until the user says so.
  if (view.pendingPairing)
    return words(
      'Accept the new pairing?',
      'act',
      `${view.pendingPairing.origin} asks to pair this browser with another key for ${view.pendingPairing.apiUrl}. ` +
        'Accept only if you just asked for it there; until then this browser stays paired as it is.',
      { askAcceptPairing: true },
    );
  if (!view.paired)
    return words('Not paired yet', 'act', 'Pair this browser with your account to keep LinkedIn connected.', {
      askPairing: true,
    });
  if (view.needsPairing)
    return words(
      'Pair again',
      'act',
      'Your account no longer accepts this browser (the key expired, or was revoked or replaced).',
      {
        askPairing: true,
      },
    );
  if (!view.signedIn)
    return words('Sign in to LinkedIn', 'act', 'Sign in to linkedin.com in this browser; we take it from there.');
  if (!view.memberId)
    return words('Open LinkedIn once', 'wait', 'Open linkedin.com in a tab so we can recognise your account.');
  const checkpoint = view.answer?.checkpoint;
  if (checkpoint) {
    const what = checkpointNames[checkpoint.type] ?? 'the verification code LinkedIn sent you';
    return words('LinkedIn asks for a verification code', 'act', `Enter ${what}.`, { askCode: true });
  }
  if (view.backoffUntil && view.backoffUntil > now && !view.answer)
    return words('Trying again soon', 'wait', 'The server is busy; we will send your session again shortly.');
  if (view.lastError && view.lastError.status !== 0 && !view.answer)
    return words('Could not connect', 'act', view.lastError.message);
  if (!view.answer) return words('Connecting…', 'wait', 'Sending your LinkedIn session…');
  if (view.answer.accountId === null && view.answer.recovery !== 'CHECKPOINT')
    return words('Connecting…', 'wait', 'Your LinkedIn account is being connected.');
  const state = plainState(view.answer.status, view.answer.recovery);
  const detail =
    state.tone === 'ok'
      ? 'Your LinkedIn account is connected; this browser keeps it that way.'
      : state.tone === 'act'
        ? 'Sign in to linkedin.com again in this browser, or reconnect from the email we sent you.'
        : 'Nothing to do: we are on it.';
  return words(state.label, state.tone, detail);
}
