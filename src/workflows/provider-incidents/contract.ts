// The provider-incidents workflow's contract: its type and id, the operator's update, the search attribute and the
// state each provider is shown in. Shared by the workflow, the activities, the API and the tests; no I/O.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineUpdate } from '@temporalio/workflow';
import { DEFAULT_TASK_QUEUE } from '../task-queues';

export const PROVIDER_INCIDENTS_WORKFLOW_TYPE = 'providerIncidentsWorkflow';

/** One singleton per task queue, like the reconciliation schedule: `provider-incidents` on the default queue. */
export function providerIncidentsWorkflowId(taskQueue: string): string {
  return taskQueue === DEFAULT_TASK_QUEUE ? 'provider-incidents' : `provider-incidents:${taskQueue}`;
}

/** The providers now in incident, on the singleton workflow: `ProviderIncidents = 'LINKEDIN'` in the Temporal UI. */
export const ProviderIncidentsKey = defineSearchAttributeKey('ProviderIncidents', SearchAttributeType.KEYWORD_LIST);

/** Unipile's account_type: GOOGLE_OAUTH, LINKEDIN, … (what an operator may name in the API). */
export const PROVIDER_NAME = /^[A-Z_]{2,40}$/;

export type IncidentOpener = 'detector' | 'operator';
export type IncidentCloser = 'detector' | 'operator' | 'max_hold';

export interface ProviderIncidentView {
  id: number;
  openedAt: string;
  openedBy: IncidentOpener;
  reason: string;
  /** Since when the broken share has stayed below half the threshold (the detector closes it a window later). */
  belowSince: string | null;
  /** The latest the incident closes by itself (PROVIDER_INCIDENT_MAX_HOLD after it opened). */
  closesBy: string;
  /** Accounts whose emails wait for this incident to close. */
  heldEmails: number;
}

/** One provider as operators see it (GET /api/providers, the workflow's details). */
export interface ProviderState {
  provider: string;
  /** Accounts of this provider not deleted. */
  watched: number;
  /** Of those, accounts with an open incident of their own. */
  broken: number;
  /** Accounts that opened an incident within PROVIDER_INCIDENT_WINDOW (and after the provider's last incident closed). */
  openedInWindow: number;
  incident: ProviderIncidentView | null;
}

/** What one evaluation saw and did. */
export interface ProviderEvaluation {
  at: string;
  providers: ProviderState[];
  opened: string[];
  closed: string[];
  /** Held emails of closed incidents still to wake (released by releaseProviderHolds). */
  holdsToRelease: number;
  /** PROVIDER_INCIDENT_CHECK_INTERVAL, as the worker is configured: the workflow waits this long between checks. */
  checkIntervalMs: number;
}

export interface ProviderIncidentAction {
  provider: string;
  action: 'open' | 'close';
}

export type ProviderActionResult =
  { outcome: 'done'; changed: boolean; state: ProviderState } | { outcome: 'no_open_incident'; state: ProviderState };

/** An operator opens or closes a provider's incident (POST /api/providers/:provider/incident). */
export const providerIncidentActionUpdate = defineUpdate<ProviderActionResult, [ProviderIncidentAction]>(
  'providerIncidentAction',
);

/** Carried over continue-as-new: only counters, the state lives in PostgreSQL. */
export interface ProviderIncidentsInput {
  evaluations?: number;
}
