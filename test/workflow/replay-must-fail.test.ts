import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { HISTORY_DIR, HISTORY_SET } from '../helpers/histories';

// The replay suite (replay.test.ts) proves nothing unless replay can fail: here a deliberately changed copy of the
// account workflow (one timer injected before its first command) replays the committed fixtures and must be
// refused as nondeterministic, while the same copy without the timer replays them.
describe('workflow replay catches a changed workflow', () => {
  const WORKFLOWS = resolve(__dirname, '../../src/workflows/account');
  const FIXTURES = [`${HISTORY_SET}/sync-error-escalation.json`, 'v1-journal-activity/sync-error-escalation.json'];
  const history = (file: string) => JSON.parse(readFileSync(resolve(HISTORY_DIR, file), 'utf8'));
  const bundles = { copy: '', changed: '' };

  /** Bundles a copy of the account workflow (outside src/workflows/account) and returns the bundle's path. */
  async function bundle(name: string, source: string): Promise<string> {
    const dir = resolve(__dirname, `../.tmp/replay-must-fail/${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(resolve(dir, 'account-workflow.ts'), source);
    const { code } = await bundleWorkflowCode({
      workflowsPath: resolve(dir, 'account-workflow.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    });
    writeFileSync(resolve(dir, 'workflow-bundle.js'), code);
    return resolve(dir, 'workflow-bundle.js');
  }

  beforeAll(async () => {
    const copy = readFileSync(resolve(WORKFLOWS, 'workflow.ts'), 'utf8')
      // The copy lives outside src/workflows/account: its relative imports point back at the real modules.
      .replace(/from '\.\/([^']+)'/g, (_, m: string) => `from '${resolve(WORKFLOWS, m)}'`)
      .replace(/from '\.\.\/([^']+)'/g, (_, m: string) => `from '${resolve(WORKFLOWS, '..', m)}'`);
    expect(copy).not.toMatch(/from '\.\.?\//);
    // The opening of the workflow function's body, where the timer goes.
    const start = /async function accountWorkflow\([^)]*\)[^{]*\{\n/;
    expect(copy).toMatch(start);
    const changed = copy
      .replace(start, (opening) => `${opening}  await injectedSleep(1);\n`)
      .concat(`\nimport { sleep as injectedSleep } from '@temporalio/workflow';\n`);
    bundles.copy = await bundle('copy', copy);
    bundles.changed = await bundle('changed', changed);
  });

  // The control: the copy without the timer replays, so the failure below is the timer's alone.
  test.each(FIXTURES)('%s replays against an unchanged copy of the workflow', async (file) => {
    await Worker.runReplayHistory({ workflowBundle: { codePath: bundles.copy } }, history(file));
  });

  test.each(FIXTURES)('%s fails replay against the changed copy with a determinism error', async (file) => {
    const error = await Worker.runReplayHistory({ workflowBundle: { codePath: bundles.changed } }, history(file)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeterminismViolationError);
    expect((error as Error).message).toMatch(/nondeterminism/i);
  });
});
