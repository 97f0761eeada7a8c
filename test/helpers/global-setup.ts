import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { freePort } from '../../scripts/toolkit/processes';
import { startTemporalDevServer } from '../../scripts/toolkit/temporal';

// One Temporal dev server and one workflow bundle for the whole run; each test file gets its own database,
// task queue, simulator, SMTP peer and API.
export default async function globalSetup(): Promise<void> {
  const tmp = resolve(__dirname, '../.tmp');
  mkdirSync(tmp, { recursive: true });
  // Fault tests append their measured rows here; the summary reporter turns them into docs/RELIABILITY.md.
  rmSync(resolve(tmp, 'reliability.jsonl'), { force: true });
  // A port found free can be taken before the server binds it (seen once in CI: "address already in use", and the
  // dev server exits): try again on another port rather than fail the whole run.
  let port = 0;
  let server: Awaited<ReturnType<typeof startTemporalDevServer>> | undefined;
  for (let attempt = 1; !server; attempt++) {
    port = await freePort();
    try {
      // A low continue-as-new suggestion makes the tests cross run boundaries with state carried over.
      server = await startTemporalDevServer({
        port,
        extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=100'],
      });
    } catch (err) {
      if (attempt >= 3) throw err;
      console.warn(`Temporal dev server did not start on port ${port}; trying another: ${(err as Error).message}`);
    }
  }
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
