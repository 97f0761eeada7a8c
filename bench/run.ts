// npm run bench [-- --quick] [--only <scenario>[,<scenario>]] [--accounts 1000,10000] [--idle 10000] [--cap 50]
//   [--uncapped 1000,10000] [--concurrency 20] [--temporal-address host:port]
//
// The event pipeline measured end to end on real parts (bench/environment.ts), one scenario per file in
// bench/scenarios/, run in order; --only runs some (and the ones they need). Every figure is printed beside the
// ceiling of the part that limits it, measured in the same run. Prints a Markdown table and writes JSON under
// bench/results/. Asserts nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT, stopAll } from '../scripts/toolkit/processes';
import { Bench, children } from './environment';
import { log } from './harness';
import { table } from './report';
import { selectScenarios } from './scenarios';
import { parseSettings } from './settings';

// Stopped from outside (.ci/run's timeout, Ctrl-C): take the dev server, API and worker down too.
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.once(signal, () => {
    void stopAll(children).then(() => process.exit(1));
  });

async function main(): Promise<Bench> {
  const settings = parseSettings();
  const scenarios = selectScenarios(settings.only);
  const bench = new Bench(settings);
  const stack = scenarios.some((s) => s.stack);
  if (stack) await bench.start();
  bench.describe();
  for (const scenario of scenarios) {
    if (settings.only) log(`scenario ${scenario.name}`);
    await scenario.run(bench);
  }
  if (stack) await bench.shutdown();
  return bench;
}

function writeResults(bench: Bench): void {
  const dir = resolve(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const quick = bench.settings.quick ? '-quick' : '';
  const file = resolve(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}${quick}.json`);
  writeFileSync(file, JSON.stringify(bench.out, null, 2));
  console.log(table(bench.out, bench.settings.rate));
  console.log(`\nJSON: ${file}`);
}

main()
  .then(writeResults)
  .catch(async (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    await stopAll(children);
    process.exit(1);
  });
