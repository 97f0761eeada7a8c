import type { Bench } from '../environment';

/** One measured part of the benchmark: its figures go under its keys of the JSON. */
export interface Scenario {
  name: string;
  /** Scenarios whose accounts or figures it uses: run first, even when not asked for with --only. */
  needs: string[];
  /** False when it measures nothing of the running stack (no PostgreSQL, Temporal or processes needed). */
  stack: boolean;
  run(bench: Bench): Promise<void>;
}
