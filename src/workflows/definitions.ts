// Workflow contract shared by the workflow, the worker, the API and the tests. Defined once here; importing this
// file pulls in no I/O, so it is safe inside the workflow sandbox.
import { defineQuery, defineSignal } from '@temporalio/workflow';
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

export interface AccountWorkflowInput {
  accountId: string;
  provider?: string | null;
  userId?: string | null;
  policy: RecoveryPolicy;
  /** Carried over by continue-as-new. */
  state?: AccountState;
  /** Signals received but not yet applied when the previous run continued-as-new. */
  pending?: Inbound[];
}

export type Inbound = { type: 'status'; event: StatusEvent } | { type: 'linked'; link: AccountLinked };

export interface AttemptRecord {
  n: number;
  of: number;
  action: 'restart' | 'reconnect';
  at: string;
  outcome: 'succeeded' | 'failed';
  errorType?: string;
  reason?: string;
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
  /** restart: Unipile restarts; none: only the user can fix it, so email at once. */
  action: 'restart' | 'none';
  attempts: AttemptRecord[];
  emails: EmailRecord[];
  firstEmailAt: string | null;
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
    maxAttempts: number;
    emails: EmailRecord[];
  };
  nextAttemptAt: string | null;
  nextEmailAt: string | null;
  lastError: string | null;
  completed: boolean;
}

export const statusEventSignal = defineSignal<[StatusEvent]>('unipileStatus');
export const accountLinkedSignal = defineSignal<[AccountLinked]>('accountLinked');
export const getAccountStateQuery = defineQuery<AccountView>('getAccountState');

export const AccountStatusKey = defineSearchAttributeKey('AccountStatus', SearchAttributeType.KEYWORD);
export const AccountRecoveryKey = defineSearchAttributeKey('AccountRecovery', SearchAttributeType.KEYWORD);
export const AccountProviderKey = defineSearchAttributeKey('AccountProvider', SearchAttributeType.KEYWORD);
export const AccountUserIdKey = defineSearchAttributeKey('AccountUserId', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTE_KEYS = [AccountStatusKey, AccountRecoveryKey, AccountProviderKey, AccountUserIdKey];

/** Activities that call Unipile run here, rate-limited across workers (UNIPILE_MAX_RPS). */
export const unipileTaskQueue = (taskQueue: string): string => `${taskQueue}-unipile`;

export const accountWorkflowId = (accountId: string): string => `account-${accountId}`;
