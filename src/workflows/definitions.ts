// Workflow contract shared by the workflow, the worker, the API and the tests. Defined once here; importing this
// file pulls in no I/O, so it is safe inside the workflow sandbox.
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
export type Recovery = 'NONE' | 'RETRYING' | 'WAITING_FOR_USER' | 'CHECKPOINT';
export type EmailKind = 'reconnect_needed' | 'reminder';

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
  };
  nextAttemptAt: string | null;
  nextEmailAt: string | null;
  lastError: string | null;
  /** When the workflow last heard of an extension cookie for this account (null: never). */
  cookieAt: string | null;
  completed: boolean;
}

export const statusEventSignal = defineSignal<[StatusEvent]>('unipileStatus');
export const accountLinkedSignal = defineSignal<[AccountLinked]>('accountLinked');
export const cookieUpdatedSignal = defineSignal<[CookieUpdate]>('cookieUpdated');
export const getAccountStateQuery = defineQuery<AccountView>('getAccountState');
/** One reconnect (LinkedIn with cookies) or restart attempt now; returns its outcome. */
export const reconnectNowUpdate = defineUpdate<AttemptRecord>('reconnectNow');

export const AccountStatusKey = defineSearchAttributeKey('AccountStatus', SearchAttributeType.KEYWORD);
export const AccountRecoveryKey = defineSearchAttributeKey('AccountRecovery', SearchAttributeType.KEYWORD);
export const AccountProviderKey = defineSearchAttributeKey('AccountProvider', SearchAttributeType.KEYWORD);
export const AccountUserIdKey = defineSearchAttributeKey('AccountUserId', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTE_KEYS = [AccountStatusKey, AccountRecoveryKey, AccountProviderKey, AccountUserIdKey];

/** Activities that call Unipile run here, rate-limited across workers (UNIPILE_MAX_RPS). */
export const unipileTaskQueue = (taskQueue: string): string => `${taskQueue}-unipile`;

export interface LinkedinConnectInput {
  sessionId: string;
  userId: string;
  checkpointTimeoutMs: number;
}

/** Where a cookie connection stands; what the checkpoint endpoint and the connect query answer. */
export type ConnectState =
  | { phase: 'connecting' }
  | { phase: 'checkpoint'; accountId: string; checkpointType: string }
  | { phase: 'connected'; accountId: string }
  | { phase: 'failed'; errorType: string }
  | { phase: 'timed_out' };

export type CheckpointAnswer =
  | { outcome: 'connected'; accountId: string }
  | { outcome: 'checkpoint'; accountId: string; checkpointType: string }
  | { outcome: 'wrong_code'; accountId: string }
  | { outcome: 'failed'; errorType: string };

export const solveCheckpointUpdate = defineUpdate<CheckpointAnswer, [string]>('solveCheckpoint');
export const getConnectStateQuery = defineQuery<ConnectState>('getConnectState');
/**
 * One connection workflow per (user, LinkedIn member): ids operators can search and that never collide — the user
 * id is length-prefixed, so `a-b`/`c` and `a`/`b-c` differ — and stay under 255 characters (user ≤ 128, member ≤ 100).
 */
export const linkedinConnectWorkflowId = (userId: string, memberId: string): string =>
  `linkedin-connect-${userId.length}:${userId}-${memberId}`;

export const accountWorkflowId = (accountId: string): string => `account-${accountId}`;

/** Workflow type names: clients start workflows by name, so they never import workflow code. */
export const ACCOUNT_WORKFLOW_TYPE = 'accountWorkflow';
export const LINKEDIN_CONNECT_WORKFLOW_TYPE = 'linkedinConnectWorkflow';
export const RECONCILE_WORKFLOW_TYPE = 'reconcileAccountsWorkflow';
/** TEMPORAL_TASK_QUEUE's default. */
export const DEFAULT_TASK_QUEUE = 'unipile-accounts';

/** What one reconciliation found and did. */
export interface ReconcileSummary {
  seen: number;
  /** Known accounts whose status at Unipile differed from ours: a `reconcile` event each. */
  differing: number;
  /** Accounts at Unipile we had no row for: a row without a user, and a workflow. */
  unknown: number;
  /** Our accounts Unipile no longer lists: DELETED. */
  gone: number;
  /** The listing did not finish (Unipile unreachable): nothing was marked gone; the next run tries again. */
  incomplete: boolean;
  /** Our accounts missing from the complete listing; each is asked of Unipile unless the run is held. */
  missing?: number;
  /** Accounts reconciliation had deleted that Unipile lists again: restored. */
  restored?: number;
  /** Deletions held for an operator (POST /api/reconcile/confirm), or null. */
  held?: ReconcileHold | null;
}

export type ReconcileHoldReason = 'too_many' | 'unknown_workspace';

/** A run's deletions held back: why, how many accounts, and the hold an operator confirms. */
export interface ReconcileHold {
  reason: ReconcileHoldReason;
  count: number;
  holdId: number;
}

export const RECONCILE_CONFIRM_WORKFLOW_TYPE = 'reconcileConfirmWorkflow';

/**
 * Unipile's answer for one account of a confirmed hold; after a first 404, `waitMs` is how long (database clock)
 * until that 404 is RECONCILE_GRACE old and a second one may confirm the account gone.
 */
export interface HeldVerdict {
  verdict: 'alive' | 'first_404' | 'gone' | 'unknown';
  waitMs: number;
}

/** Applies one confirmed hold; `offset` and the counts carry over continue-as-new. */
export interface ReconcileConfirmInput {
  holdId: number;
  offset?: number;
  deleted?: number;
  kept?: number;
}

/** One workflow per confirmed hold (a second confirm finds it started); per task queue, like the schedule. */
export function reconcileConfirmWorkflowId(taskQueue: string, holdId: number): string {
  return `${reconcileScheduleId(taskQueue)}-confirm-${holdId}`;
}

/**
 * The schedule that runs reconciliation every RECONCILE_INTERVAL: `reconcile-accounts` on the default task queue;
 * deployments sharing a namespace on other queues each get their own.
 */
export function reconcileScheduleId(taskQueue: string): string {
  return taskQueue === DEFAULT_TASK_QUEUE ? 'reconcile-accounts' : `reconcile-accounts:${taskQueue}`;
}
export type AccountWorkflowFn = (input: AccountWorkflowInput) => Promise<void>;
export type LinkedinConnectWorkflowFn = (input: LinkedinConnectInput) => Promise<ConnectState>;

// ---- Custom authentication connections (SPEC §10.4) ----

/**
 * A connection's current step, as clients read it. Never a secret: a QR code's payload is added by the API from its
 * encrypted copy, so it is in no workflow history. `connecting` only lasts until Unipile's first answer.
 */
export type ConnectionStep =
  | { type: 'connecting' }
  | { type: 'connected'; accountId: string }
  | {
      type: 'checkpoint';
      checkpoint: string;
      source?: string;
      options?: { id: string; name: string }[];
      expiresAt: string;
    }
  | { type: 'qrcode'; expiresAt: string }
  | { type: 'failed'; error: string };

/** What the user answers; the value itself (code, phone, contract id) travels through the database, encrypted. */
export type StepAnswerKind = 'code' | 'phone' | 'contract' | 'try_another_way' | 'resend';
export const STEP_ANSWER_KINDS: readonly StepAnswerKind[] = ['code', 'phone', 'contract', 'try_another_way', 'resend'];

/** What Unipile's answer to a connection call means for the connection (ids and types only). */
export type ConnectionAttempt =
  | { kind: 'connected'; accountId: string }
  | {
      kind: 'checkpoint';
      accountId: string;
      checkpoint: string;
      source?: string;
      options?: { id: string; name: string }[];
    }
  | { kind: 'qrcode'; accountId: string }
  | { kind: 'wrong_code' }
  | { kind: 'unchanged' }
  | { kind: 'failed'; error: string };

export interface ConnectionInput {
  connectionId: string;
  /** CHECKPOINT_TIMEOUT: how long each step waits for the user. */
  checkpointTimeoutMs: number;
  /** CONNECTION_POLL_INTERVAL: how often a QR code or an in-app validation is checked at Unipile. */
  pollIntervalMs: number;
}

export interface ConnectionView {
  version: number;
  step: ConnectionStep;
}

export const getConnectionStepQuery = defineQuery<ConnectionView>('getConnectionStep');
/** Waits until the step has moved past `version` (the API's way to answer the first step synchronously). */
export const awaitConnectionStepUpdate = defineUpdate<ConnectionView, [number]>('awaitConnectionStep');
export const answerConnectionStepUpdate = defineUpdate<
  { outcome: 'next' | 'wrong_code'; step: ConnectionStep },
  [StepAnswerKind]
>('answerConnectionStep');

export const connectionWorkflowId = (connectionId: string): string => `connection-${connectionId}`;
export const CONNECTION_WORKFLOW_TYPE = 'connectionWorkflow';
export type ConnectionWorkflowFn = (input: ConnectionInput) => Promise<ConnectionStep>;
