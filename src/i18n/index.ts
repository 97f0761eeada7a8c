// The words people read (emails, pages) in their language. One catalogue per language in ./locales, plain JSON a
// translator edits without reading code; one i18next instance of our own (no global state shared with anything).
import { createInstance, type TOptions } from 'i18next';
import en from './locales/en.json';
import fr from './locales/fr.json';
import de from './locales/de.json';
import es from './locales/es.json';

/** The languages we write in; English is the reference catalogue and the fallback. */
export const LANGUAGES = ['en', 'fr', 'de', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];

export const catalogues: Record<Language, { [key: string]: unknown }> = { en, fr, de, es };

const i18n = createInstance();
// Resources are in memory, so init completes synchronously (initAsync: false). Values are escaped by the HTML
// writers themselves: i18next's own escaping would escape twice, and would spoil plain-text parts and subjects.
void i18n.init({
  resources: Object.fromEntries(LANGUAGES.map((l) => [l, { translation: catalogues[l] }])),
  lng: 'en',
  fallbackLng: 'en',
  supportedLngs: [...LANGUAGES],
  initAsync: false,
  returnNull: false,
  returnEmptyString: false,
  interpolation: { escapeValue: false },
});

/**
 * The catalogue's key for each of plainState's labels (src/common, shared with the browser extension, which shows
 * them in English).
 */
export const STATE_KEYS: Record<string, string> = {
  Removed: 'pages.state.removed',
  Connected: 'pages.state.connected',
  'Connecting…': 'pages.state.connecting',
  'Reconnecting automatically…': 'pages.state.reconnecting',
  'Waiting for a verification code': 'pages.state.checkpoint',
  'Needs you to reconnect': 'pages.state.needsYou',
  Paused: 'pages.state.paused',
  'Restricted by the provider: verify your identity there': 'pages.state.restricted',
  'Signed in as another member: sign in with this account': 'pages.state.mismatch',
};

/** The canonical form of a BCP 47 tag (`fr-fr` → `fr-FR`), or null when it is not one. */
export function canonicalLocale(locale: string | null | undefined): string | null {
  if (!locale) return null;
  try {
    return Intl.getCanonicalLocales(locale)[0] ?? null;
  } catch {
    return null;
  }
}

/** The language we write in for a locale: `fr-FR`, `fr-CA`, `fr` → fr; unknown or invalid → en. */
export function resolveLanguage(locale: string | null | undefined): Language {
  const canonical = canonicalLocale(locale);
  if (!canonical) return 'en';
  const language = new Intl.Locale(canonical).language;
  return (LANGUAGES as readonly string[]).includes(language) ? (language as Language) : 'en';
}

export interface Translator {
  language: Language;
  /** The locale dates are formatted in: the user's own when we write in its language (fr-CA keeps Canada's). */
  locale: string;
  t(key: string, vars?: TOptions): string;
  /** A moment as the user reads it, in UTC (we do not know the user's time zone). */
  formatDate(date: Date | string | number): string;
}

/** Everything needed to write for one user's locale. */
export function translator(locale: string | null | undefined): Translator {
  const language = resolveLanguage(locale);
  const canonical = canonicalLocale(locale);
  // A locale whose language we do not write in gets English dates too, so that a page never mixes two languages.
  const dateLocale = canonical && new Intl.Locale(canonical).language === language ? canonical : 'en';
  const dates = new Intl.DateTimeFormat(dateLocale, {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: 'UTC',
    timeZoneName: 'short',
  });
  const fixed = i18n.getFixedT(language);
  return {
    language,
    locale: dateLocale,
    t: (key, vars) => fixed(key, vars ?? {}) as string,
    formatDate: (date) => dates.format(new Date(date)),
  };
}

/** One string in the locale's language. */
export function t(locale: string | null | undefined, key: string, vars?: TOptions): string {
  return translator(locale).t(key, vars);
}
