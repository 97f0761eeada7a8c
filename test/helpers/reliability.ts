import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

/** Where fault tests leave their measured rows; the summary reporter turns them into docs/RELIABILITY.md. */
export const RELIABILITY_RESULTS = resolve(__dirname, '../.tmp/reliability.jsonl');

export interface ReliabilityRow {
  /** What was injected, for real (a process killed, a port closed, a peer answering 429). */
  injected: string;
  /** How many times it was injected in this case. */
  times: number;
  expected: string;
  observed: string;
  eventsLost: number;
  emailsLost: number;
  duplicateEmails: number;
}

/**
 * Records one fault case as measured by the test that injected it. Newer cases record before their assertions, so a
 * failing case keeps its figures (the reporter also lists it as failed). The row names the command that reruns it.
 */
export function recordReliability(row: ReliabilityRow): void {
  const { currentTestName, testPath } = expect.getState();
  const file = relative(resolve(__dirname, '../..'), testPath ?? '');
  const pattern = (currentTestName ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/'/g, "'\\''");
  const command = `npx jest ${file} -t '${pattern}'`;
  mkdirSync(dirname(RELIABILITY_RESULTS), { recursive: true });
  appendFileSync(RELIABILITY_RESULTS, `${JSON.stringify({ case: currentTestName, file, command, ...row })}\n`);
}
