import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { temporalCliPath } from './temporal-dev-server';

export const HISTORY_DIR = resolve(__dirname, '../fixtures/histories');
/**
 * Where new recordings go: one folder per workflow-code generation. Older folders stay and keep replaying, which is
 * what proves a change (behind `patched()`) is safe for workflows that started under the old code.
 */
export const HISTORY_SET = 'v2-persist-view';

/** A workflow history exactly as `temporal workflow show --output json` prints it (the format replay accepts). */
export function workflowShowJson(address: string, workflowId: string, runId?: string): string {
  return execFileSync(
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
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
}

/**
 * With RECORD_HISTORIES=1, saves a finished scenario's workflow history as a replay fixture.
 * test/workflow/replay.test.ts replays the committed ones.
 */
export function maybeRecordHistory(address: string, workflowId: string, name: string, runId?: string): void {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const json = workflowShowJson(address, workflowId, runId);
  // A history with no completed workflow task proves nothing when replayed: not kept.
  if (!json.includes('EVENT_TYPE_WORKFLOW_TASK_COMPLETED')) return;
  const dir = resolve(HISTORY_DIR, HISTORY_SET);
  mkdirSync(dir, { recursive: true });
  writeFileSync(resolve(dir, `${name}.json`), json);
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

/**
 * A workflow's whole history as text with every payload decoded (inputs, signals, results, failures and summaries
 * are base64 in the JSON), so tests can search it for secrets.
 */
export function historyText(address: string, workflowId: string, runId?: string): string {
  const json = workflowShowJson(address, workflowId, runId);
  const decoded: string[] = [json];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (key === 'data' && typeof v === 'string') decoded.push(Buffer.from(v, 'base64').toString('utf8'));
        else walk(v);
      }
    }
  };
  walk(JSON.parse(json));
  return decoded.join('\n');
}
