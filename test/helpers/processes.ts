import type { ChildProcess } from 'node:child_process';
import { waitForHttp as waitForHttpAnswer } from '../../scripts/toolkit/processes';

// The tests spawn and stop processes with the same toolkit as `npm run dev`, `prod:local` and the benchmark.
export { spawnTs } from '../../scripts/toolkit/processes';

/** Polls an HTTP URL until it answers 200; fails at once if the process exits. */
export async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  await waitForHttpAnswer(url, { child, timeoutMs });
}
