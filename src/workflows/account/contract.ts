// The account workflow's contract: input, state, signals, query, update, search attributes and ids, shared by the
// workflow, the worker, the API and the tests. Importing it pulls in no I/O, so it is safe inside the sandbox.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ACCOUNT_STATUSES = [
  'PENDING',
  'OK',
  'CONNECTING',
  'CREDENTIALS',
  'PERMISSIONS',
  'ERROR',
  'STOPPED',
  'DELETED',
] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];
/**
 * RESTRICTED: the provider restricted the account, no silent attempt is made any more. PAUSED: the backend paused
 * the account, no attempt and no email until it is resumed or its pause ends.
 */
export type Recovery = 'NONE' | 'RETRYING' | 'WAITING_FOR_USER' | 'CHECKPOINT' | 'RESTRICTED' | 'PAUSED';
/**
 * reconnect_needed: the first email of an incident; reminder: the later ones; restricted: the provider restricted
 * the account (sent once, no reminders); mismatch: the extension's cookie belongs to another member.
 */
export type EmailKind = 'reconnect_needed' | 'reminder' | 'restricted' | 'mismatch';

/** Recovery timings, in milliseconds, from configuration (RECONNECT_RETRY_INTERVAL, …). */
export interface RecoveryPolicy {
  retryIntervalMs: number;
  maxRetries: number;
  reminderScheduleMs: number[];
  cookieStaleAfterMs: number;
  /** Tries of one email send before the workflow records it failed and tries again an interval later (20). */
  emailSendAttempts?: number;
  /** First backoff between two tries of one email send (5 s; doubling up to 5 minutes). */
  emailRetryInitialMs?: number;
  /** Start-to-close timeout of one email send (1 minute). */
  emailSendTimeoutMs?: number;
  /** Start-to-close timeout of one Unipile call (2 minutes when absent, as before it was configurable). */
  unipileCallTimeoutMs?: number;
  /** CONNECT_RETRY_INTERVAL: one cookie-triggered reconnect per this, beyond the first (retryIntervalMs when absent). */
  cookieReconnectIntervalMs?: number;
  /** EMAIL_SETTLE: an incident's first email is not sent before the incident is this old (0 when absent). */
  emailSettleMs?: number;
  /** PROVIDER_HOLD_RECHECK: how often an email held by a provider incident asks again (15 minutes when absent). */
  providerHoldRecheckMs?: number;
  /**
   * Set by the workflow behind a patch, never by configuration: provider holds, email settle, restricted, mismatched
   * and paused accounts, and spread retries. Runs recorded before it replay without them.
   */
  providerAware?: boolean;
  /**
   * Set by the workflow behind a patch, never by configuration: cookie reconnects on the budget above and bounded
   * incident lists. Runs recorded before it replay without it.
   */
  cookieBudget?: boolean;
}

/** One Unipile `account_status` webhook, as forwarded from the stored receipt. */
export interface StatusEvent {
  message: string;
  accountType?: string;
  /** webhook_receipts.id: lets the workflow drop a receipt forwarded twice. */
  receiptId?: number;
  receivedAt: string;
}

/** The hosted-auth callback tied the account to one of our users. */
export interface AccountLinked {
  userId: string;
  provider: string;
  name?: string;
}

/** The browser extension sent a cookie for this account: only its keyed fingerprint travels, never the value. */
export interface CookieUpdate {
  fingerprint: string;
  at: string;
}

export interface AccountWorkflowInput {
  accountId: string;
  provider?: string | null;
  userId?: string | null;
  cookie?: CookieUpdate | null;
  policy: RecoveryPolicy;
  /** Carried over by continue-as-new. */
  state?: AccountState;
  /** Signals received but not yet applied when the previous run continued-as-new. */
  pending?: Inbound[];
}

export type Inbound =
  | { type: 'status'; event: StatusEvent }
  | { type: 'provider_closed'; closed: ProviderIncidentClosed }
  | { type: 'linked'; link: AccountLinked }
  | { type: 'cookie'; cookie: CookieUpdate };

/** Why an attempt ran: the incident's schedule, a new cookie from the extension, or "reconnect now". */
export type AttemptTrigger = 'schedule' | 'new_cookie' | 'manual';

export interface AttemptRecord {
  n: number;
  of: number;
  action: 'restart' | 'reconnect';
  trigger: AttemptTrigger;
  at: string;
  outcome: 'succeeded' | 'failed';
  errorType?: string;
  reason?: string;
  /** Fingerprint of the cookie a reconnect used. */
  fingerprint?: string;
}

export interface EmailRecord {
  kind: EmailKind;
  seq: number;
  at: string;
  outcome: 'sent' | 'no_contact' | 'already_sent';
}

export interface Incident {
  id: number;
  kind: 'needs-auth' | 'sync-error';
  openedAt: string;
  /** restart: Unipile restarts; reconnect: with the extension's cookie; none: only the user can fix it. */
  action: 'restart' | 'reconnect' | 'none';
  attempts: AttemptRecord[];
  /** Cookie fingerprints already tried in this incident. */
  triedCookies: string[];
  /** A new, different cookie arrived: one extra attempt is due at once. */
  newCookiePending: boolean;
  emails: EmailRecord[];
  firstEmailAt: string | null;
  /** The last email could not be sent (SMTP down longer than its retries): the next try is not before this. */
  emailRetryAt?: string | null;
  // Counters kept under the cookie budget, so that `attempts` and `triedCookies` can keep only their last entries.
  /** Attempts made in this incident, including those no longer listed. */
  attemptCount?: number;
  /** Scheduled attempts made: "attempt n of N". */
  scheduledCount?: number;
  lastScheduledAt?: string | null;
  /** When the last cookie-triggered attempt finished: the next one is not before this plus the interval. */
  lastCookieAttemptAt?: string | null;
  /** Unipile answered errors/account_restricted: no silent attempt any more, one `restricted` email. */
  restricted?: boolean;
  /** A cookie reconnect answered that the cookie belongs to another member: the first email is `mismatch`. */
  mismatch?: boolean;
  /** The account was resumed from a pause: its next scheduled attempt is due at once. */
  dueNow?: boolean;
  /** The next email waits for this provider incident to close (or asks again at `recheckAt`). */
  emailHold?: { provider: string; incidentId: number; since: string; recheckAt: string } | null;
}

export interface JournalEntry {
  seq: number;
  type: string;
  at: string;
  data: Record<string, unknown>;
}

export interface AccountState {
  accountId: string;
  provider: string | null;
  userId: string | null;
  status: AccountStatus;
  recovery: Recovery;
  incident: Incident | null;
  incidentCount: number;
  cookie: CookieUpdate | null;
  lastError: string | null;
  completed: boolean;
  /** Receipt ids already applied, newest last, bounded. */
  seenReceipts: number[];
  /** Set while the backend has paused the account: no attempt and no email. */
  paused?: { since: string; until: string | null; reason: string } | null;
  /** Fingerprints of extension cookies Unipile said belong to another member: never tried again, bounded. */
  mismatchedCookies?: string[];
  /** Entries not yet written to the account's event history. */
  journal: JournalEntry[];
  journalSeq: number;
}

/** What GET /api/accounts/:id shows from the workflow. */
export interface AccountView {
  accountId: string;
  provider: string | null;
  userId: string | null;
  status: AccountStatus;
  recovery: Recovery;
  incident: null | {
    id: number;
    kind: Incident['kind'];
    openedAt: string;
    attempts: AttemptRecord[];
    /** Older attempts of this incident no longer listed (only the last ones are kept). */
    attemptsOmitted?: number;
    maxAttempts: number;
    emails: EmailRecord[];
    /** The provider restricted the account: no silent attempt any more. */
    restricted?: boolean;
    /** The extension's cookie belongs to another member. */
    mismatch?: boolean;
  };
  nextAttemptAt: string | null;
  nextEmailAt: string | null;
  lastError: string | null;
  /** When the workflow last heard of an extension cookie for this account (null: never). */
  cookieAt: string | null;
  completed: boolean;
  /** Set while the backend has paused the account. */
  paused?: { since: string; until: string | null; reason: string } | null;
  /** Set while an email of this account waits for its provider's incident to close. */
  emailHeld?: { provider: string; incidentId: number; since: string } | null;
}

/** A provider incident that held this account's emails closed: a held email is judged again at once. */
export interface ProviderIncidentClosed {
  provider: string;
  incidentId: number;
}

/** POST /api/accounts/:id/pause: no attempt and no email until `until` (ISO time) or a resume; null: until resumed. */
export interface PauseRequest {
  until: string | null;
  reason: string;
}

export const statusEventSignal = defineSignal<[StatusEvent]>('unipileStatus');
export const accountLinkedSignal = defineSignal<[AccountLinked]>('accountLinked');
export const cookieUpdatedSignal = defineSignal<[CookieUpdate]>('cookieUpdated');
export const getAccountStateQuery = defineQuery<AccountView>('getAccountState');
/** One reconnect (LinkedIn with cookies) or restart attempt now; returns its outcome. */
export const reconnectNowUpdate = defineUpdate<AttemptRecord>('reconnectNow');

export const providerIncidentClosedSignal = defineSignal<[ProviderIncidentClosed]>('providerIncidentClosed');
/** Pauses the account (or changes a pause's end or reason); returns the view with the pause. */
export const pauseAccountUpdate = defineUpdate<AccountView, [PauseRequest]>('pauseAccount');
/** Ends a pause: the account is judged by its current status at once; returns the view. */
export const resumeAccountUpdate = defineUpdate<AccountView>('resumeAccount');

export const AccountStatusKey = defineSearchAttributeKey('AccountStatus', SearchAttributeType.KEYWORD);
export const AccountRecoveryKey = defineSearchAttributeKey('AccountRecovery', SearchAttributeType.KEYWORD);
export const AccountProviderKey = defineSearchAttributeKey('AccountProvider', SearchAttributeType.KEYWORD);
export const AccountUserIdKey = defineSearchAttributeKey('AccountUserId', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTE_KEYS = [AccountStatusKey, AccountRecoveryKey, AccountProviderKey, AccountUserIdKey];

export const accountWorkflowId = (accountId: string): string => `account-${accountId}`;

/** Workflow type name: clients start workflows by name, so they never import workflow code. */
export const ACCOUNT_WORKFLOW_TYPE = 'accountWorkflow';
export type AccountWorkflowFn = (input: AccountWorkflowInput) => Promise<void>;
