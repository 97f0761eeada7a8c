import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { temporalCliPath } from './temporal-dev-server';

export const HISTORY_DIR = resolve(__dirname, '../fixtures/histories');

/**
 * With RECORD_HISTORIES=1, saves a finished scenario's workflow history as a replay fixture, exactly as
 * `temporal workflow show --output json` prints it. test/integration/replay.test.ts replays the committed ones.
 */
export function maybeRecordHistory(address: string, workflowId: string, name: string, runId?: string): void {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const json = execFileSync(
    temporalCliPath(),
    [
      'workflow',
      'show',
      '--address',
      address,
      '--workflow-id',
      workflowId,
      ...(runId ? ['--run-id', runId] : []),
      '--output',
      'json',
    ],
    { encoding: 'utf8' },
  );
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(resolve(HISTORY_DIR, `${name}.json`), json);
}

/** Records every run of a workflow (oldest first) as `<name>-run<N>.json`: an incident may span a continue-as-new. */
export async function maybeRecordAllRuns(
  client: { workflow: { list(o: { query: string }): AsyncIterable<{ runId: string; startTime: Date }> } },
  address: string,
  workflowId: string,
  name: string,
): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const runs: { runId: string; startTime: Date }[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId="${workflowId}"` })) runs.push(run);
  runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  runs.forEach((run, i) => maybeRecordHistory(address, workflowId, `${name}-run${i + 1}`, run.runId));
}
