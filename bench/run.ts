// npm run bench [-- --quick] [--only <scenario>[,<scenario>]] [--accounts 1000,10000] [--idle 10000] [--cap 50]
//   [--uncapped 1000,10000] [--concurrency 20] [--backlog 10000] [--temporal-address host:port] [--write-doc]
//   [--profile]
//
// The event pipeline measured end to end on real parts (bench/environment.ts), one scenario per file in
// bench/scenarios/, run in order; --only runs some (and the ones they need). Every figure is printed beside the
// ceiling of the part that limits it, measured in the same run. Prints a Markdown table and writes JSON under
// bench/results/; a full run (or --write-doc) also rewrites docs/BENCHMARKS.md from that JSON. The figures are not
// asserted; a lost event or a duplicated recovery attempt makes it exit non-zero (after writing everything), so CI fails
// on one (report.ts countedFailures says why a receipt signalled twice is shown, not failed).
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT, stopAll } from '../scripts/toolkit/processes';
import { Bench, children } from './environment';
import { cpuBetween, type CpuShare } from './cpu';
import { log } from './harness';
import { summariseProfiles } from './profile';
import { writeDoc } from './docs';
import { countedFailures, eventsTable, table } from './report';
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
  await bench.describe();
  const cpu: Record<string, CpuShare> = {};
  for (const scenario of scenarios) {
    if (settings.only) log(`scenario ${scenario.name}`);
    bench.scenario = scenario.name;
    const before = stack ? bench.cpu() : undefined;
    await scenario.run(bench);
    if (before) cpu[scenario.name] = cpuBetween(before, bench.cpu());
  }
  bench.out.cpu = cpu;
  if (stack) await bench.shutdown();
  // Written as each profiled process exits (during the shutdown at the latest).
  if (settings.profile) bench.out.profiles = summariseProfiles(bench.profileDir);
  return bench;
}

async function writeResults(bench: Bench): Promise<void> {
  const dir = resolve(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const finished = new Date();
  (bench.out.run as Record<string, unknown>).finishedAt = finished.toISOString();
  const quick = bench.settings.quick ? '-quick' : '';
  const file = resolve(dir, `${finished.toISOString().replace(/[:.]/g, '-')}${quick}.json`);
  writeFileSync(file, JSON.stringify(bench.out, null, 2));
  console.log(table(bench.out));
  const events = eventsTable(bench.out);
  if (events) console.log(`\n${events}`);
  console.log(`\nJSON: ${file}`);
  if (bench.settings.writeDoc) console.log(`Doc: ${await writeDoc(bench.out, file)}`);
  else console.log('Doc: docs/BENCHMARKS.md left as it is (a quick or partial run; --write-doc to rewrite it)');
  const failures = countedFailures(bench.out);
  if (failures.length > 0) {
    console.error(`\nlost events or duplicated attempts:\n${failures.map((f) => `  ${f}`).join('\n')}`);
    process.exit(1);
  }
}

main()
  .then(writeResults)
  .catch(async (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    await stopAll(children);
    process.exit(1);
  });
