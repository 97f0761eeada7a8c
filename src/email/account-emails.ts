import { translator } from '../i18n';
import { escapeHtml } from '../platform/html';
import type { EmailKind } from '../workflows/account/contract';

export interface AccountEmailInput {
  kind: EmailKind;
  /** The reminder's number (1 for the first reminder); unused by the other kinds. */
  reminderNumber: number;
  /** The user's BCP 47 locale (users.locale): the email is written in its language, else in English. */
  locale: string | null;
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

/** A paragraph of lines, or the reconnect link (its URL in the text part, a link in the HTML part). */
type Block = string[] | { link: string; label: string };

/** Subject, plain text and HTML of an account email of any kind, in the user's language. */
export function composeAccountEmail(input: AccountEmailInput): { subject: string; text: string; html: string } {
  const { t } = translator(input.locale);
  // People know their accounts by name; the id only when Unipile gave none.
  const vars = { provider: providerName(input.provider), account: input.accountName || input.accountId };
  const kind = input.kind;
  const link: Block = { link: input.reconnectUrl, label: t('email.reconnectButton', vars) };

  const blocks: Block[] = [
    [input.userName ? t('email.greeting', { name: input.userName }) : t('email.greetingNoName')],
  ];
  if (kind === 'reminder') {
    blocks.push([
      t('email.reminder.body', vars),
      // Emails already sent about this incident: the first one and the reminders before this one.
      t('email.reminder.count', { count: Math.max(1, input.reminderNumber) }),
    ]);
  } else if (kind === 'restricted') {
    blocks.push([t('email.restricted.body', vars)], [t('email.restricted.verify', vars)]);
  } else if (kind === 'mismatch') {
    blocks.push([t('email.mismatch.body', vars)], [t('email.mismatch.signIn', vars)]);
  } else {
    blocks.push([t('email.reconnect_needed.body', vars)]);
  }
  blocks.push([t(`email.${kind}.action`, vars)], link);
  if (input.staleCookie && (kind === 'reconnect_needed' || kind === 'reminder')) {
    blocks.push([t('email.staleExtension', vars)]);
  }
  blocks.push([t('email.signOff', vars)]);

  const text = blocks.map((b) => (Array.isArray(b) ? b.join('\n') : b.link)).join('\n\n');
  // Every interpolated value is escaped here, once: the catalogue's words and the user's values alike.
  const html = blocks
    .map((b) =>
      Array.isArray(b)
        ? `<p>${b.map(escapeHtml).join('<br>\n')}</p>`
        : `<p><a href="${escapeHtml(b.link)}">${escapeHtml(b.label)}</a></p>`,
    )
    .join('\n');
  return { subject: t(`email.${kind}.subject`, vars), text, html };
}
