// Prebuilds the workflow bundle for production workers (WORKFLOW_BUNDLE_PATH=lib/workflow-bundle.js).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows') });
  const out = resolve(__dirname, '../../lib/workflow-bundle.js');
  writeFileSync(out, code);
  console.log(`wrote ${out}`);
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
