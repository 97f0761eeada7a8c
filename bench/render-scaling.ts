// npx tsx bench/render-scaling.ts <results.json>: docs/SCALING.md again from a results file that has the scaling
// scenario's figures, without re-running anything.
import { readFileSync } from 'node:fs';
import { writeScalingDoc } from './scaling-doc';

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npx tsx bench/render-scaling.ts bench/results/<run>.json');
  console.log(`wrote ${await writeScalingDoc(JSON.parse(readFileSync(file, 'utf8')), file)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
