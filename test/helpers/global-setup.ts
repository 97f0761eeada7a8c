import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startTemporalDevServerOnFreePort } from '../../scripts/toolkit/temporal';

// One Temporal dev server and one workflow bundle for the whole run; each test file gets its own database,
// task queue, simulator, SMTP peer and API.
export default async function globalSetup(): Promise<void> {
  const tmp = resolve(__dirname, '../.tmp');
  mkdirSync(tmp, { recursive: true });
  // Fault tests append their measured rows here; the summary reporter turns them into docs/RELIABILITY.md.
  rmSync(resolve(tmp, 'reliability.jsonl'), { force: true });
  // A low continue-as-new suggestion makes the tests cross run boundaries with state carried over.
  const { child: server, port } = await startTemporalDevServerOnFreePort({
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=100'],
  });
  (globalThis as { __temporal?: unknown }).__temporal = server;
  process.env.TEST_TEMPORAL_ADDRESS = `127.0.0.1:${port}`;

  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  const bundlePath = resolve(tmp, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
}
