/** The pairing page: the API address and the extension key the product's web app shows its user. */
import { send, type PopupView } from './messages';

declare const DEFAULT_API_URL: string;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const apiUrl = $<HTMLInputElement>('api-url');
const token = $<HTMLInputElement>('token');

void send<PopupView>({ type: 'view' }).then((view) => {
  apiUrl.value = view.apiUrl ?? DEFAULT_API_URL;
  $('result').textContent = view.paired && !view.needsPairing ? `Paired with ${view.apiUrl}.` : '';
});

$('pair-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void send<{ ok: boolean; error?: string }>({ type: 'pair', apiUrl: apiUrl.value.trim(), token: token.value }).then(
    (answer) => {
      token.value = '';
      $('result').textContent = answer.ok ? `Paired with ${apiUrl.value.trim()}.` : (answer.error ?? 'Pairing failed.');
    },
  );
});

$('unpair').addEventListener('click', () => {
  void send({ type: 'unpair' }).then(() => ($('result').textContent = 'This browser is no longer paired.'));
});
