import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Worker } from '@temporalio/worker';
import { HISTORY_DIR, HISTORY_SET } from '../helpers/histories';

// Committed histories of real runs (recorded with RECORD_HISTORIES=1) replayed against the current workflow code:
// a change that would break running workflows fails here.
describe('workflow replay', () => {
  // One folder per workflow-code generation (test/helpers/histories.ts HISTORY_SET); all of them replay.
  const files = readdirSync(HISTORY_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));

  test('there are committed histories of every generation to replay', () => {
    expect(files.filter((f) => f.startsWith('v1-')).length).toBeGreaterThanOrEqual(4);
    expect(files.filter((f) => f.startsWith(`${HISTORY_SET}/`)).length).toBeGreaterThanOrEqual(4);
  });

  test.each(files)('%s replays without nondeterminism', async (file) => {
    const history = JSON.parse(readFileSync(resolve(HISTORY_DIR, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, history);
  });
});
