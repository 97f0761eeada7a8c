import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { accountWorkflow } from './workflows';
import {
  accountLinkedSignal,
  accountWorkflowId,
  cookieUpdatedSignal,
  SEARCH_ATTRIBUTE_KEYS,
  statusEventSignal,
  type AccountLinked,
  type CookieUpdate,
  type RecoveryPolicy,
  type StatusEvent,
} from './workflows/definitions';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  tls?: boolean;
  apiKey?: string;
}

/** A client whose connection is made on first use, so the API starts (and stores webhooks) while Temporal is down. */
export function createTemporalClient(settings: TemporalSettings): Client {
  // No client-side gRPC retries: the relay retries stored receipts itself, and the retry interceptor's backoff
  // timers outlive a deadline (they fired on a closed channel after shutdown).
  const connection = Connection.lazy({
    address: settings.address,
    tls: settings.tls ?? false,
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    interceptors: [],
  });
  return new Client({ connection, namespace: settings.namespace });
}

/** Registers the Keyword search attributes the account workflows keep current; does nothing when present. */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTE_KEYS.map((k) => k.name).filter((name) => !known.has(name));
  if (missing.length === 0) return [];
  const searchAttributes = Object.fromEntries(
    missing.map((name) => [name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
  );
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  return missing;
}

const FORWARD_TIMEOUT_MS = 5000;

export type ForwardResult = 'signalled' | 'workflow_closed';

/**
 * Delivers an event to the account's workflow, starting it if needed (signal-with-start). A deleted account's
 * workflow has completed and its id is never reused, so later events come back as `workflow_closed`.
 */
export async function forwardToAccount(
  client: Client,
  settings: TemporalSettings & { policy: RecoveryPolicy },
  accountId: string,
  message: { status: StatusEvent } | { linked: AccountLinked } | { cookie: CookieUpdate },
  hints: { provider?: string | null; userId?: string | null; cookie?: CookieUpdate | null } = {},
): Promise<ForwardResult> {
  const base = {
    workflowId: accountWorkflowId(accountId),
    taskQueue: settings.taskQueue,
    args: [
      {
        accountId,
        provider: hints.provider ?? null,
        userId: hints.userId ?? null,
        cookie: hints.cookie ?? null,
        policy: settings.policy,
      },
    ] as [Parameters<typeof accountWorkflow>[0]],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `Unipile account ${accountId}`,
  };
  // The client would keep retrying an unreachable server; the stored receipt is retried by the relay instead.
  const deadline = Date.now() + FORWARD_TIMEOUT_MS;
  try {
    const [signal, arg] =
      'status' in message
        ? [statusEventSignal.name, message.status]
        : 'linked' in message
          ? [accountLinkedSignal.name, message.linked]
          : [cookieUpdatedSignal.name, message.cookie];
    await client.connection.withDeadline(deadline, () =>
      client.workflow.signalWithStart(accountWorkflow, { ...base, signal, signalArgs: [arg] }),
    );
    return 'signalled';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'workflow_closed';
    throw err;
  }
}
