/** The toolbar popup: where the account stands, and the verification-code form while LinkedIn asks for one. */
import { send, type CheckpointResult, type PopupView } from './messages';
import { popupWords } from './popup-words';
import { isSettling } from './sync-rules';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const RESULT_WORDS: Record<CheckpointResult['outcome'], string> = {
  connected: 'Done: LinkedIn accepted the code.',
  wrong_code: 'That code is wrong or has expired. Check it and try again.',
  expired: 'The verification has expired. We will start again the next time your browser syncs.',
  needs_pairing: 'This browser must be paired again.',
  no_checkpoint: 'LinkedIn is not waiting for a code any more.',
  unavailable: 'The server is not available right now; try again in a minute.',
};

let polling: ReturnType<typeof setTimeout> | undefined;

async function show(refresh: boolean): Promise<void> {
  const view = await send<PopupView>({ type: 'view', refresh });
  const words = popupWords(view, Date.now());
  const state = $<HTMLSpanElement>('state');
  state.textContent = words.headline;
  state.className = `state ${words.tone}`;
  $('detail').textContent = words.detail;
  $('code-form').hidden = !words.askCode;
  $('pair').hidden = !words.askPairing;
  $('pairing-offer').hidden = !words.askAcceptPairing;
  // While the popup is open and the connection is on its way, look again every few seconds.
  clearTimeout(polling);
  if (view.paired && !view.needsPairing && (isSettling(view.answer) || !view.answer))
    polling = setTimeout(() => void show(true), 4000);
}

$('code-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('code');
  void send<CheckpointResult>({ type: 'checkpoint', code: input.value }).then(async (result) => {
    $('result').textContent = RESULT_WORDS[result.outcome];
    if (result.outcome !== 'wrong_code') input.value = '';
    await show(false);
  });
});
$('pair').addEventListener('click', () => void chrome.runtime.openOptionsPage());
for (const [id, type, done] of [
  ['accept-pairing', 'accept-pairing', 'This browser now uses the new pairing.'],
  ['reject-pairing', 'reject-pairing', 'Refused: this browser stays paired as it was.'],
] as const)
  $(id).addEventListener('click', () => {
    void send<{ ok: boolean }>({ type }).then(async (answer) => {
      $('result').textContent = answer.ok ? done : 'That pairing request has expired; nothing changed.';
      await show(type === 'accept-pairing');
    });
  });
$('refresh').addEventListener('click', () => void show(true));
$('product').textContent = chrome.runtime.getManifest().name;

void show(true);
