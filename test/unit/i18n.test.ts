import { catalogues, canonicalLocale, LANGUAGES, resolveLanguage, STATE_KEYS, t, translator } from '../../src/i18n';
import { composeAccountEmail, type AccountEmailInput } from '../../src/email/account-emails';
import { plainState } from '../../src/common/plain-state';
import type { EmailKind } from '../../src/workflows/account/contract';

/** Every leaf of a catalogue as a dotted key. */
function leaves(node: unknown, prefix = ''): string[] {
  if (typeof node === 'string') return [prefix];
  return Object.entries(node as Record<string, unknown>).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/;
/** Keys as a translator writes them, plural forms folded into their base key (`count_one` → `count`). */
const baseKeys = (catalogue: unknown) => new Set(leaves(catalogue).map((k) => k.replace(PLURAL_SUFFIX, '')));
const pluralBases = (lang: string) =>
  new Set(
    leaves(catalogues[lang as 'en'])
      .filter((k) => PLURAL_SUFFIX.test(k))
      .map((k) => k.replace(PLURAL_SUFFIX, '')),
  );
/** What a catalogue lacks of English, and what it has that English has not. */
function parity(catalogue: unknown): { missing: string[]; extra: string[] } {
  const english = baseKeys(catalogues.en);
  const other = baseKeys(catalogue);
  return { missing: [...english].filter((k) => !other.has(k)), extra: [...other].filter((k) => !english.has(k)) };
}

describe('catalogues', () => {
  test.each(LANGUAGES.filter((l) => l !== 'en'))('%s has exactly the keys of English', (lang) => {
    expect(parity(catalogues[lang])).toEqual({ missing: [], extra: [] });
    expect(pluralBases(lang)).toEqual(pluralBases('en'));
  });

  test.each([...LANGUAGES])('%s has every plural form its language uses, and no other', (lang) => {
    const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories.sort();
    const keys = leaves(catalogues[lang]);
    for (const base of pluralBases(lang)) {
      const forms = keys.filter((k) => k.replace(PLURAL_SUFFIX, '') === base && PLURAL_SUFFIX.test(k));
      expect({ base, forms: forms.map((k) => PLURAL_SUFFIX.exec(k)![1]).sort() }).toEqual({ base, forms: categories });
    }
  });

  test('no empty translation', () => {
    for (const lang of LANGUAGES) {
      const empty = leaves(catalogues[lang]).filter((k) => !t(lang, k.replace(PLURAL_SUFFIX, ''), { count: 2 }));
      expect({ lang, empty }).toEqual({ lang, empty: [] });
    }
  });

  test('the parity check itself catches a missing and an extra key', () => {
    const french = JSON.parse(JSON.stringify(catalogues.fr));
    delete french.email.greeting;
    french.pages.extra = 'en trop';
    expect(parity(french)).toEqual({ missing: ['email.greeting'], extra: ['pages.extra'] });
  });
});

describe('language matching', () => {
  test.each([
    ['fr-FR', 'fr'],
    ['fr-CA', 'fr'],
    ['fr', 'fr'],
    ['FR-fr', 'fr'],
    ['de-AT', 'de'],
    ['es-419', 'es'],
    ['en-GB', 'en'],
    ['ja-JP', 'en'],
    ['not a locale', 'en'],
    ['', 'en'],
    [null, 'en'],
  ])('%p → %s', (locale, language) => {
    expect(resolveLanguage(locale)).toBe(language);
  });

  test('canonical form, or null when invalid', () => {
    expect(canonicalLocale('fr-fr')).toBe('fr-FR');
    expect(canonicalLocale('EN-us')).toBe('en-US');
    expect(canonicalLocale('x')).toBeNull();
    expect(canonicalLocale('fr_FR')).toBeNull();
  });

  test('fr-FR is French, an unknown language English', () => {
    expect(t('fr-FR', 'pages.accounts.title')).toBe('Vos comptes connectés');
    expect(t('de-DE', 'pages.accounts.title')).toBe('Ihre verbundenen Konten');
    expect(t('es-ES', 'pages.accounts.title')).toBe('Tus cuentas conectadas');
    expect(t('ja-JP', 'pages.accounts.title')).toBe('Your connected accounts');
  });

  test('every state the landing page shows has a key, in English the same words', () => {
    const labels = [
      plainState('DELETED', 'NONE'),
      plainState('OK', 'NONE'),
      plainState('PENDING', 'NONE'),
      plainState('ERROR', 'RETRYING'),
      plainState('CREDENTIALS', 'CHECKPOINT'),
      plainState('CREDENTIALS', 'WAITING_FOR_USER'),
    ].map((s) => s.label);
    expect(labels.map((l) => t('en', STATE_KEYS[l]!))).toEqual(labels);
    expect(labels.map((l) => t('fr', STATE_KEYS[l]!))).not.toContain(undefined);
    expect(new Set(labels.map((l) => t('fr', STATE_KEYS[l]!))).size).toBe(labels.length);
  });
});

describe('plurals and dates', () => {
  test('plural forms by Intl.PluralRules', () => {
    expect(t('en', 'email.reminder.count', { count: 1 })).toBe('We have already written to you about it once.');
    expect(t('en', 'email.reminder.count', { count: 2 })).toBe('We have already written to you about it 2 times.');
    expect(t('fr', 'email.reminder.count', { count: 1 })).toBe('Nous vous avons déjà écrit une fois à ce sujet.');
    expect(t('fr', 'email.reminder.count', { count: 3 })).toBe('Nous vous avons déjà écrit 3 fois à ce sujet.');
    expect(t('de', 'pages.tryAgain.tooMany', { count: 1 })).toContain('1 Sekunde ');
    expect(t('de', 'pages.tryAgain.tooMany', { count: 5 })).toContain('5 Sekunden ');
  });

  test("dates in the user's locale, in UTC", () => {
    const at = new Date('2026-12-02T13:26:00Z');
    expect(translator('fr-FR').formatDate(at)).toBe('2 décembre 2026 à 13:26 UTC');
    expect(translator('de-DE').formatDate(at)).toBe('2. Dezember 2026 um 13:26 UTC');
    expect(translator('en-GB').formatDate(at)).toBe('2 December 2026 at 13:26 UTC');
    expect(translator('en-US').formatDate(at)).toBe('December 2, 2026 at 01:26 PM UTC');
    // A language we do not write in keeps its dates in English too: no page mixes two languages.
    expect(translator('ja-JP').formatDate(at)).toBe('December 2, 2026 at 01:26 PM UTC');
    // Not the HTTP date format.
    expect(translator(null).formatDate(at)).not.toContain('GMT');
  });
});

describe('account emails in every language', () => {
  const input: AccountEmailInput = {
    kind: 'reconnect_needed',
    reminderNumber: 0,
    locale: 'fr-FR',
    userName: 'Ada <admin>',
    provider: 'LINKEDIN',
    accountName: 'Ada & Co',
    accountId: 'acc-1',
    reconnectUrl: 'https://x.example/accounts/acc-1/reconnect?token=a&b',
    staleCookie: false,
  };
  const KINDS: EmailKind[] = ['reconnect_needed', 'reminder', 'restricted', 'mismatch'];

  test('a French user gets French subject, text and HTML', () => {
    const mail = composeAccountEmail(input);
    expect(mail.subject).toBe('Action requise : reconnectez votre compte LinkedIn');
    expect(mail.text).toContain('Votre compte LinkedIn « Ada & Co » a été déconnecté');
    expect(mail.html).toContain('Votre compte LinkedIn « Ada &amp; Co » a été déconnecté');
    expect(mail.html).toContain('>Reconnecter votre compte LinkedIn</a>');
  });

  test('an unknown locale gets English', () => {
    expect(composeAccountEmail({ ...input, locale: 'xx-unknown' }).subject).toBe(
      'Action needed: reconnect your LinkedIn account',
    );
    expect(composeAccountEmail({ ...input, locale: 'zz' }).subject).toMatch(/^Action needed/);
  });

  test.each(LANGUAGES.flatMap((l) => KINDS.map((k) => [l, k] as const)))(
    '%s %s: names the account, links once, escapes every value once',
    (locale, kind) => {
      const mail = composeAccountEmail({ ...input, locale, kind, reminderNumber: 2 });
      expect(mail.text).toContain('Ada & Co');
      expect(mail.text).not.toContain('acc-1"'); // the name, not the id
      expect(mail.text).toContain(input.reconnectUrl);
      expect(mail.html).toContain('Ada &amp; Co');
      expect(mail.html).toContain('Ada &lt;admin&gt;');
      expect(mail.html).not.toContain('&amp;amp;');
      expect(mail.html).toContain('href="https://x.example/accounts/acc-1/reconnect?token=a&amp;b"');
      expect(mail.subject).toContain('LinkedIn');
      expect(mail.subject).not.toContain('{{');
      expect(mail.text).not.toContain('{{');
      // Each kind has words of its own.
      const others = KINDS.filter((k) => k !== kind).map(
        (k) => composeAccountEmail({ ...input, locale, kind: k, reminderNumber: 2 }).subject,
      );
      expect(others).not.toContain(mail.subject);
    },
  );

  test('the id only when there is no name', () => {
    const mail = composeAccountEmail({ ...input, locale: 'en', accountName: null });
    expect(mail.text).toContain('LinkedIn account "acc-1"');
  });

  test('restricted and mismatch say what to do', () => {
    const restricted = composeAccountEmail({ ...input, locale: 'en', kind: 'restricted' });
    expect(restricted.text).toContain('verify your identity');
    expect(restricted.text).toContain('sign in on the LinkedIn website');
    const mismatch = composeAccountEmail({ ...input, locale: 'en', kind: 'mismatch' });
    expect(mismatch.text).toContain('sign in to LinkedIn with the account "Ada & Co"');
    expect(mismatch.text).toContain('another LinkedIn account');
  });

  test('reminders count the emails already sent; the stale-extension hint stays', () => {
    const first = composeAccountEmail({ ...input, locale: 'en', kind: 'reminder', reminderNumber: 1 });
    const second = composeAccountEmail({ ...input, locale: 'en', kind: 'reminder', reminderNumber: 2 });
    expect(first.subject).toMatch(/^Reminder/);
    expect(first.text).toContain('once');
    expect(second.text).toContain('2 times');
    const stale = composeAccountEmail({ ...input, locale: 'de-DE', staleCookie: true });
    expect(stale.text).toContain('Browsererweiterung');
    expect(composeAccountEmail({ ...input, locale: 'de-DE' }).text).not.toContain('Browsererweiterung');
  });
});
