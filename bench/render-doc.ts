// npm run bench:doc -- <results.json>: docs/BENCHMARKS.md again from a results file, without re-running anything.
import { readFileSync } from 'node:fs';
import { writeDoc } from './docs';

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npm run bench:doc -- bench/results/<run>.json');
  console.log(`wrote ${await writeDoc(JSON.parse(readFileSync(file, 'utf8')), file)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
