import type { ChildProcess } from 'node:child_process';
import { startTemporalDevServer as startDevServer } from '../../scripts/toolkit/temporal';

// The tests start and stop Temporal with the same toolkit as `npm run dev`, `prod:local` and the benchmark.
export { freePort, stopProcess } from '../../scripts/toolkit/processes';
export { temporalCliPath } from '../../scripts/toolkit/temporal';

/** Starts `temporal server start-dev` (in memory, headless) with our search attributes; resolves when it answers. */
export function startTemporalDevServer(port: number, extraArgs: string[] = []): Promise<ChildProcess> {
  return startDevServer({ port, extraArgs });
}
