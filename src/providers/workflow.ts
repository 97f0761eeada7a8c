// Starting and asking the provider-incidents singleton: idempotent start (every worker boot, and the API when the
// workflow is not there), and the operator's update. Raises DomainError only.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Config } from '../platform/config';
import { DomainError } from '../platform/errors';
import {
  PROVIDER_INCIDENTS_WORKFLOW_TYPE,
  providerIncidentActionUpdate,
  providerIncidentsWorkflowId,
  type ProviderIncidentAction,
  type ProviderIncidentsInput,
  type ProviderState,
} from '../workflows/provider-incidents/contract';
import type { ProviderIncidentSettings } from '../workflows/provider-incidents/rules';

export const PROVIDER_INCIDENT_KEYS = [
  'PROVIDER_INCIDENT_MIN_ACCOUNTS',
  'PROVIDER_INCIDENT_SHARE',
  'PROVIDER_INCIDENT_WINDOW',
  'PROVIDER_INCIDENT_MAX_HOLD',
  'PROVIDER_INCIDENT_CHECK_INTERVAL',
] as const;

export function providerIncidentSettings(
  config: Pick<Config, (typeof PROVIDER_INCIDENT_KEYS)[number]>,
): ProviderIncidentSettings {
  return {
    minAccounts: config.PROVIDER_INCIDENT_MIN_ACCOUNTS,
    sharePercent: config.PROVIDER_INCIDENT_SHARE,
    windowMs: config.PROVIDER_INCIDENT_WINDOW,
    maxHoldMs: config.PROVIDER_INCIDENT_MAX_HOLD,
    checkIntervalMs: config.PROVIDER_INCIDENT_CHECK_INTERVAL,
  };
}

/** Starts the singleton unless it runs (one that failed or was terminated is replaced). */
export async function ensureProviderIncidentsWorkflow(client: Client, taskQueue: string): Promise<void> {
  await client.workflow.start<(input: ProviderIncidentsInput) => Promise<void>>(PROVIDER_INCIDENTS_WORKFLOW_TYPE, {
    workflowId: providerIncidentsWorkflowId(taskQueue),
    taskQueue,
    args: [{}],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    staticSummary: 'Provider incidents: holds emails while many accounts of one provider are down',
  });
}

export class NoOpenIncidentError extends DomainError {
  constructor(provider: string) {
    super('conflict', 'no_open_incident', `Provider ${provider} has no open incident`);
  }
}

export class ProvidersUnavailableError extends DomainError {
  constructor() {
    super('unavailable', 'unavailable', 'Temporal could not be reached; retry later', 30);
  }
}

const UPDATE_TIMEOUT_MS = 30_000;

/**
 * Opens or closes a provider's incident through the singleton's update (serialised with its checks); starts the
 * singleton first when it is not running. Returns the provider's state after the action.
 */
export async function providerIncidentAction(
  deps: { temporal: Client; taskQueue: string },
  input: ProviderIncidentAction,
): Promise<{ changed: boolean; state: ProviderState }> {
  const handle = deps.temporal.workflow.getHandle(providerIncidentsWorkflowId(deps.taskQueue));
  const ask = () =>
    deps.temporal.connection.withDeadline(Date.now() + UPDATE_TIMEOUT_MS, () =>
      handle.executeUpdate(providerIncidentActionUpdate, { args: [input] }),
    );
  let result;
  try {
    try {
      result = await ask();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      await ensureProviderIncidentsWorkflow(deps.temporal, deps.taskQueue);
      result = await ask();
    }
  } catch {
    throw new ProvidersUnavailableError();
  }
  if (result.outcome === 'no_open_incident') throw new NoOpenIncidentError(input.provider);
  return { changed: result.changed, state: result.state };
}
