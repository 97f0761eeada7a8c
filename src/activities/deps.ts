import type { Knex } from 'knex';
import type { Mailer } from '../email/mailer';
import type { Forwarding } from '../inbound/inbound-events';
import type { CookieCipher } from '../platform/cipher';
import type { UnipileApi } from '../unipile/unipile-api';
import type { ProviderIncidentSettings } from '../workflows/provider-incidents/rules';

/**
 * Everything activities use, wired once by the worker (and by tests). Each domain's factory picks what it needs, so
 * a reader sees at a glance which activities touch the mailer or the cipher.
 */
export interface ActivityDeps {
  db: Knex;
  unipile: UnipileApi;
  cipher: CookieCipher;
  /** Hands stored events to the account workflows (starting one for a newly connected account). */
  forwarding: Forwarding;
  /** Whether events for the customer's backend are written (BACKEND_WEBHOOK_URL set). */
  backendEvents?: boolean;
  mailer: Mailer;
  publicBaseUrl: string;
  signingSecret: string;
  mailFrom: string;
  cookieStaleAfterMs: number;
  /** A send claimed longer ago than this cannot still be running (1.5× the email activity's timeout). */
  emailStaleAfterMs: number;
  /**
   * RECONCILE_GRACE: how far apart Unipile's two 404s for a missing account must be, and how old an account never
   * listed must be before it counts as missing.
   */
  graceMs?: number;
  /** RECONCILE_MAX_DELETIONS (unset: 10 or 1 % of the accounts). */
  maxDeletions?: number;
  /** PROVIDER_INCIDENT_* settings (unset: their defaults). */
  providerIncidents?: ProviderIncidentSettings;
}
