// Bench-only workflows for the ceilings measured beside the product's figures (bundled on their own by
// bench/ceilings/worker.ts, never part of src/workflows): the least a workflow can do with a signal, and the least
// an incident can cost (one activity calling HTTP, one local activity writing PostgreSQL).
import {
  condition,
  proxyActivities,
  proxyLocalActivities,
  proxySinks,
  setHandler,
  workflowInfo,
  type Sinks,
} from '@temporalio/workflow';
import { incidentSignal, tickSignal, type CeilingActivities } from './contract';

export interface CeilingSinks extends Sinks {
  // A sink, not a query or a history event: counting adds nothing to the history being measured.
  ceiling: { signalled(): void };
}

const { ceiling } = proxySinks<CeilingSinks>();

/** Counts the signals it receives, and nothing else. */
export async function countSignals(): Promise<void> {
  setHandler(tickSignal, () => ceiling.signalled());
  await condition(() => false);
}

const { touch } = proxyActivities<CeilingActivities>({ startToCloseTimeout: '1 minute' });
const { record } = proxyLocalActivities<CeilingActivities>({ startToCloseTimeout: '30 seconds' });

/** Each incident signal: one activity calling a local HTTP server, then one local activity writing PostgreSQL. */
export async function minimalIncident(): Promise<void> {
  let pending = 0;
  setHandler(incidentSignal, () => void pending++);
  const id = workflowInfo().workflowId;
  for (;;) {
    await condition(() => pending > 0);
    pending--;
    await touch(id);
    await record(id);
  }
}
