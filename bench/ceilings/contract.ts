// What the bench's ceiling workflows, their worker and the scenario share.
import { defineSignal } from '@temporalio/workflow';

export const tickSignal = defineSignal<[number]>('tick');
export const incidentSignal = defineSignal('incident');

export interface CeilingActivities {
  /** POSTs to the bench's local HTTP server (the stand-in for a Unipile restart). */
  touch(id: string): Promise<void>;
  /** Writes one row to PostgreSQL (the stand-in for the persisted view). */
  record(id: string): Promise<void>;
}

/** The table `record` writes, in the bench's own database. */
export const CEILING_TABLE = 'bench_ceiling_incidents';
