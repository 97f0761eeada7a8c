import { escapeHtml } from '../platform/html';
import type { EmailKind } from '../workflows/account/contract';

export interface AccountEmailInput {
  kind: EmailKind;
  reminderNumber: number;
  userName: string | null;
  provider: string | null;
  accountName: string | null;
  accountId: string;
  reconnectUrl: string;
  /** The browser extension's last cookie is old: ask the user to check it. */
  staleCookie: boolean;
}

const PROVIDER_NAMES: Record<string, string> = {
  LINKEDIN: 'LinkedIn',
  WHATSAPP: 'WhatsApp',
  GOOGLE: 'Gmail',
  GOOGLE_OAUTH: 'Gmail',
  OUTLOOK: 'Outlook',
  MAIL: 'email (IMAP)',
  IMAP: 'email (IMAP)',
  TELEGRAM: 'Telegram',
  INSTAGRAM: 'Instagram',
  MESSENGER: 'Messenger',
};

export function providerName(provider: string | null): string {
  // Own keys only: a provider named `constructor` must not find Object.prototype's.
  return (provider && Object.hasOwn(PROVIDER_NAMES, provider) ? PROVIDER_NAMES[provider] : provider) ?? 'connected';
}

/** Subject, plain text and HTML of a reconnect_needed or reminder email. */
export function composeAccountEmail(input: AccountEmailInput): { subject: string; text: string; html: string } {
  const provider = providerName(input.provider);
  const account = input.accountName ? `${provider} account "${input.accountName}"` : `${provider} account`;
  const subject =
    input.kind === 'reminder'
      ? `Reminder: reconnect your ${provider} account`
      : `Action needed: reconnect your ${provider} account`;
  const lines = [
    `Hello${input.userName ? ` ${input.userName}` : ''},`,
    '',
    `Your ${account} (${input.accountId}) has been disconnected and we could not repair it automatically.`,
    'Please reconnect it here:',
    input.reconnectUrl,
  ];
  if (input.staleCookie) {
    lines.push(
      '',
      'We have not heard from your browser extension lately. Please check that it is installed and that you are ' +
        `signed in to ${provider} in that browser.`,
    );
  }
  const text = lines.join('\n');
  const html = lines
    .map((line) =>
      line === input.reconnectUrl
        ? `<p><a href="${escapeHtml(line)}">Reconnect your ${escapeHtml(provider)} account</a></p>`
        : line === ''
          ? ''
          : `<p>${escapeHtml(line)}</p>`,
    )
    .join('\n');
  return { subject, text, html };
}
