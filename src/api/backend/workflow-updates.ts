// Updates the API sends to an account's workflow (reconnect now, pause, resume), one at a time per account in this
// process. Temporal admits at most 10 updates in flight per workflow and each costs a workflow task on the shared
// worker: a burst of requests for one account (a retrying backend, a double click, a fuzzer) queues here, bounded,
// instead of spending everyone's capacity or answering 5xx. The Temporal errors become the statuses the routes
// document, in one place.
import { WorkflowNotFoundError, WorkflowUpdateFailedError, isGrpcServiceError } from '@temporalio/client';
import { Mutex } from 'async-mutex';
import { accountWorkflowId } from '../../workflows/account/contract';
import { HttpError } from '../http/errors';
import type { ApiDeps } from '../http/deps';

/** gRPC's status code for a limit reached (the server's in-flight update limit among them). */
const RESOURCE_EXHAUSTED = 8;

type WorkflowHandle = ReturnType<ApiDeps['temporal']['workflow']['getHandle']>;

/** Requests for one account that may wait behind the one running; more are answered 429 at once. */
export const MAX_WAITING_PER_ACCOUNT = 32;

const busy = () => new HttpError(429, 'busy', 'Too many requests for this account at once; retry in a second', 1);

interface Entry {
  mutex: Mutex;
  /** Requests holding or waiting for the mutex; the entry goes when it falls to 0. */
  users: number;
}

/** Per Temporal client (one per API process; several in one test process). */
const registries = new WeakMap<object, Map<string, Entry>>();

function registryOf(deps: ApiDeps): Map<string, Entry> {
  let registry = registries.get(deps.temporal);
  if (!registry) registries.set(deps.temporal, (registry = new Map()));
  return registry;
}

export interface UpdateErrors {
  /** What a refusal by the workflow's validator or handler says when it gives no message. */
  notPossible: string;
  /** How an account with no running workflow is answered (a 409 where retrying cannot help). */
  notFound: HttpError;
}

/**
 * Runs `ask` against the account's workflow once the requests for the same account before it have finished.
 * `fresh` runs first under the lock: an answer it gives (say, from the view a previous request just stored) is
 * returned without an update.
 */
export async function updateAccountWorkflow<T>(
  deps: ApiDeps,
  accountId: string,
  errors: UpdateErrors,
  ask: (handle: WorkflowHandle) => Promise<T>,
  fresh?: () => Promise<T | undefined>,
): Promise<T> {
  const registry = registryOf(deps);
  let entry = registry.get(accountId);
  if (!entry) registry.set(accountId, (entry = { mutex: new Mutex(), users: 0 }));
  if (entry.users > MAX_WAITING_PER_ACCOUNT) {
    throw busy();
  }
  entry.users++;
  try {
    return await entry.mutex.runExclusive(async () => {
      const known = fresh ? await fresh() : undefined;
      if (known !== undefined) return known;
      try {
        return await ask(deps.temporal.workflow.getHandle(accountWorkflowId(accountId)));
      } catch (err) {
        throw updateError(err, errors);
      }
    });
  } finally {
    if (--entry.users === 0) registry.delete(accountId);
  }
}

function updateError(err: unknown, errors: UpdateErrors): HttpError {
  if (err instanceof WorkflowUpdateFailedError) {
    return new HttpError(409, 'not_possible', err.cause?.message ?? errors.notPossible);
  }
  if (err instanceof WorkflowNotFoundError) return errors.notFound;
  // Another API process filled the workflow's in-flight updates: the same answer as our own queue being full.
  const cause = (err as { cause?: unknown }).cause;
  if ([err, cause].some((e) => isGrpcServiceError(e) && e.code === RESOURCE_EXHAUSTED)) {
    return busy();
  }
  return new HttpError(503, 'unavailable', 'The account workflow could not be reached; retry later', 5);
}
