// Worker settings sweep: the uncapped mass disconnect (mass-disconnect.ts) run again with the worker restarted at a
// few values of each worker setting, one setting changed at a time from the defaults. The defaults are run first,
// midway and last: the spread between those runs is the run's own noise, and a value counts as a clear win only
// when it beats every one of them by more than that spread.
import { configSchema } from '../../src/platform/config';
import type { Bench } from '../environment';
import { log, round, rssMb, sleep } from '../harness';
import { massDisconnect } from './mass-disconnect';
import type { Scenario } from './scenario';

type SettingName =
  | 'WORKER_MAX_CACHED_WORKFLOWS'
  | 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS'
  | 'WORKER_MAX_CONCURRENT_ACTIVITIES'
  | 'WORKER_REUSE_V8_CONTEXT'
  | 'WORKER_STICKY_SCHEDULE_TO_START_TIMEOUT';

/** The values tried for each setting, besides the one the benchmark's worker runs with (the default row). */
function sweptValues(bench: Bench, accounts: number): [SettingName, string[]][] {
  return [
    // Fewer cached workflows than accounts in the round: evictions and replays during the burst.
    ['WORKER_MAX_CACHED_WORKFLOWS', [String(Math.max(10, Math.floor(accounts / 10)))]],
    ['WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', ['10', '100']],
    ['WORKER_MAX_CONCURRENT_ACTIVITIES', ['20', '200']],
    ['WORKER_REUSE_V8_CONTEXT', ['false']],
    ['WORKER_STICKY_SCHEDULE_TO_START_TIMEOUT', ['1s', '60s']],
  ];
}

/** What the benchmark's worker runs with when nothing is swept: its environment, else the product's default. */
function defaultValue(bench: Bench, name: SettingName): string {
  if (bench.env[name] !== undefined) return bench.env[name]!;
  const parsed: unknown = configSchema.shape[name].parse(undefined);
  return name === 'WORKER_STICKY_SCHEDULE_TO_START_TIMEOUT' ? `${Number(parsed) / 1000}s` : String(parsed);
}

interface SweepRow {
  setting: string;
  value: string;
  isDefault: boolean;
  accounts: number;
  incidentsPerSecond: number;
  spanIncidentsPerSecond: number;
  steadyIncidentsPerSecond: number;
  firstAttemptP50Seconds: number;
  firstAttemptP99Seconds: number;
  everyFirstAttemptSeconds: number;
  workerRssMb: number;
  lost: number;
  duplicates: number;
}

async function round1(bench: Bench, accounts: number, setting: string, value: string, extra: Record<string, string>) {
  await bench.stopWorker();
  bench.startWorker({ UNIPILE_MAX_RPS: '100000', ...extra });
  await sleep(3000); // connect and poll, as the mass-disconnect scenario does after its restart
  log(`worker sweep: ${setting}=${value}`);
  const m = await massDisconnect(bench, accounts, 'uncapped');
  const row: SweepRow = {
    setting,
    value,
    isDefault: Object.keys(extra).length === 0,
    accounts,
    // Accounts over the time from the first webhook posted to the last first restart: the ramp and the tail count,
    // so a burst that starts late is not flattered by a short span.
    incidentsPerSecond: round(accounts / Math.max(m.everyFirstAttemptSeconds, 0.001), 1),
    spanIncidentsPerSecond: m.attemptsPerSecond,
    steadyIncidentsPerSecond: m.steadyAttemptsPerSecond,
    firstAttemptP50Seconds: m.firstAttemptP50Seconds,
    firstAttemptP99Seconds: m.firstAttemptP99Seconds,
    everyFirstAttemptSeconds: m.everyFirstAttemptSeconds,
    workerRssMb: rssMb(bench.worker!.pid!),
    lost: m.lost,
    duplicates: m.duplicates,
  };
  log(`worker sweep: ${JSON.stringify(row)}`);
  return row;
}

export const workerSweep: Scenario = {
  name: 'worker-sweep',
  needs: ['idle'],
  stack: true,
  async run(bench) {
    const accounts = Math.min(...bench.settings.uncapped, bench.shared.idleIds!.length);
    const rows: SweepRow[] = [];
    // A quick run (what CI runs, under its 10-minute limit) only proves the sweep works: one setting, one value.
    const all = sweptValues(bench, accounts);
    const swept = bench.settings.quick ? all.slice(0, 1) : all;
    const defaults = swept.map(([name]) => `${name}=${defaultValue(bench, name)}`).join(', ');
    rows.push(await round1(bench, accounts, 'defaults', 'first', {}));
    for (const [i, [name, values]] of swept.entries()) {
      for (const value of values) rows.push(await round1(bench, accounts, name, value, { [name]: value }));
      // A default run midway too: three of them show how far this machine's load moves the figure (two in a quick run).
      if (!bench.settings.quick && i === Math.floor(swept.length / 2))
        rows.push(await round1(bench, accounts, 'defaults', 'midway', {}));
    }
    rows.push(await round1(bench, accounts, 'defaults', 'last', {}));
    // Leave the worker as the mass-disconnect scenario does: defaults, no cap.
    await bench.stopWorker();
    bench.startWorker({ UNIPILE_MAX_RPS: '100000' });
    await sleep(3000);

    const base = rows.filter((r) => r.isDefault);
    const baseBest = Math.max(...base.map((r) => r.incidentsPerSecond));
    const noise = baseBest - Math.min(...base.map((r) => r.incidentsPerSecond));
    const wins = rows
      .filter((r) => !r.isDefault && r.lost === 0 && r.incidentsPerSecond > baseBest + noise)
      .map((r) => `${r.setting}=${r.value}`);
    bench.out.workerSweep = {
      accounts,
      defaults,
      rows,
      defaultRunsIncidentsPerSecond: base.map((r) => r.incidentsPerSecond),
      noiseIncidentsPerSecond: round(noise, 1),
      clearWins: wins,
    };
  },
};
