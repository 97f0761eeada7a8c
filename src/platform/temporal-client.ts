// The Temporal client side: connecting, registering search attributes and delivering events to account workflows.
// Workflows are started by type name with the input types of the workflow contracts, so nothing here imports
// workflow code (and the activities that use it form no import cycle).
import {
  Client,
  Connection,
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  type ConnectionLike,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import {
  ACCOUNT_WORKFLOW_TYPE,
  accountLinkedSignal,
  accountWorkflowId,
  cookieUpdatedSignal,
  SEARCH_ATTRIBUTE_KEYS,
  statusEventSignal,
  type AccountLinked,
  type AccountState,
  type AccountWorkflowFn,
  type CookieUpdate,
  type RecoveryPolicy,
  type StatusEvent,
} from '../workflows/account/contract';
import { RECONCILE_WORKFLOW_TYPE, reconcileScheduleId } from '../workflows/reconcile/contract';
import { ProviderIncidentsKey } from '../workflows/provider-incidents/contract';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  tls?: boolean;
  apiKey?: string;
}

export type AccountSettings = TemporalSettings & { policy: RecoveryPolicy };

/** A client whose connection is made on first use, so the API starts (and stores webhooks) while Temporal is down. */
export function createTemporalClient(settings: TemporalSettings): Client {
  // No client-side gRPC retries: the forwarder retries stored receipts itself, and the retry interceptor's backoff
  // timers outlive a deadline (they fired on a closed channel after shutdown).
  const connection = Connection.lazy({
    address: settings.address,
    tls: settings.tls ?? false,
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    interceptors: [],
  });
  return new Client({ connection, namespace: settings.namespace });
}

/** A client over a connection the caller owns (a worker's NativeConnection). */
export function clientOver(connection: ConnectionLike, namespace: string): Client {
  return new Client({ connection, namespace });
}

/** Registers the Keyword search attributes the account workflows keep current; does nothing when present. */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const keys = [...SEARCH_ATTRIBUTE_KEYS, ProviderIncidentsKey];
  const missing = keys.map((k) => k.name).filter((name) => !known.has(name));
  if (missing.length === 0) return [];
  const { INDEXED_VALUE_TYPE_KEYWORD, INDEXED_VALUE_TYPE_KEYWORD_LIST } = temporal.api.enums.v1.IndexedValueType;
  const searchAttributes = Object.fromEntries(
    missing.map((name) => [
      name,
      name === ProviderIncidentsKey.name ? INDEXED_VALUE_TYPE_KEYWORD_LIST : INDEXED_VALUE_TYPE_KEYWORD,
    ]),
  );
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  return missing;
}

/**
 * Creates the reconciliation schedule, or brings an existing one to the configured interval (idempotent: every
 * worker start and `npm run temporal:setup` call it). Runs never overlap; a missed run is not caught up.
 */
export async function ensureReconcileSchedule(
  client: Client,
  taskQueue: string,
  intervalMs: number,
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = reconcileScheduleId(taskQueue);
  const action: ScheduleOptionsStartWorkflowAction<() => Promise<unknown>> = {
    type: 'startWorkflow',
    workflowType: RECONCILE_WORKFLOW_TYPE,
    taskQueue,
    workflowId: `${scheduleId}-run`,
    workflowExecutionTimeout: '1h',
  };
  const spec = { intervals: [{ every: intervalMs }] };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
    });
    return { scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
    return { scheduleId, created: false };
  }
}

const FORWARD_TIMEOUT_MS = 5000;

export type ForwardResult = 'signalled' | 'workflow_closed';

export type AccountMessage = { status: StatusEvent } | { linked: AccountLinked } | { cookie: CookieUpdate };

/**
 * Delivers an event to the account's workflow, starting it if needed (signal-with-start). A deleted account's
 * workflow has completed and its id is not reused, so later events come back as `workflow_closed`; a run that
 * ended any other way is replaced by a new one. The one exception is `restore`: an account that reconciliation
 * deleted and Unipile reports alive gets a new run that starts from the given state.
 */
export async function signalAccount(
  client: Client,
  settings: AccountSettings,
  accountId: string,
  message: AccountMessage,
  hints: { provider?: string | null; userId?: string | null; cookie?: CookieUpdate | null } = {},
  restore?: AccountState,
): Promise<ForwardResult> {
  const [signal, arg] =
    'status' in message
      ? [statusEventSignal.name, message.status]
      : 'linked' in message
        ? [accountLinkedSignal.name, message.linked]
        : [cookieUpdatedSignal.name, message.cookie];
  // The client would keep retrying an unreachable server; the stored receipt is retried by the forwarder instead.
  const deadline = Date.now() + FORWARD_TIMEOUT_MS;
  try {
    await client.connection.withDeadline(deadline, () =>
      client.workflow.signalWithStart<AccountWorkflowFn, [unknown]>(ACCOUNT_WORKFLOW_TYPE, {
        workflowId: accountWorkflowId(accountId),
        taskQueue: settings.taskQueue,
        args: [
          {
            accountId,
            provider: hints.provider ?? null,
            userId: hints.userId ?? null,
            cookie: hints.cookie ?? null,
            policy: settings.policy,
            ...(restore ? { state: restore } : {}),
          },
        ],
        // A run that completed (the account was deleted) is not replaced, unless this is a restore; one that failed,
        // was terminated or timed out is: the account must stay watched whatever happened to its last run.
        workflowIdReusePolicy: restore
          ? WorkflowIdReusePolicy.ALLOW_DUPLICATE
          : WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        staticSummary: `Unipile account ${accountId}`,
        signal,
        signalArgs: [arg],
      }),
    );
    return 'signalled';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'workflow_closed';
    throw err;
  }
}
