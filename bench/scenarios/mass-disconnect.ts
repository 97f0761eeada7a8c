// Mass disconnect: every account receives ERROR at once; each must be restarted once, under the cap. Then the
// same with the cap lifted: what the machine sustains.
import type { Bench } from '../environment';
import { closedLoop, log, round, sleep, until } from '../harness';
import type { Scenario } from './scenario';

/** The Unipile restart calls for these accounts since `since`: the first per account, and all of them. */
function restartTimes(bench: Bench, ids: Set<string>, since: number) {
  const first = new Map<string, number>();
  const all: number[] = [];
  for (const c of bench.sim.calls) {
    const m = /^\/api\/v1\/accounts\/([^/]+)\/restart$/.exec(c.path);
    const at = Date.parse(c.at);
    if (!m || c.method !== 'POST' || at < since || !ids.has(m[1]!)) continue;
    all.push(at);
    if (!first.has(m[1]!)) first.set(m[1]!, at);
  }
  return { first, calls: all.length, all };
}

/** The most calls in any 5 s window. */
function busiest5s(all: number[]): number {
  all.sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < all.length; i++) {
    while (all[i]! - all[j]! >= 5000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

/** The accounts whose history cost is sampled before and after each round. */
export const costSample = (bench: Bench) => bench.shared.idleIds!.slice(1, 6);

/** One round: every one of the first `n` idle accounts receives ERROR at once (the worker sweep reuses it). */
export async function massDisconnect(bench: Bench, n: number, cap: number | 'uncapped') {
  const ids = bench.shared.idleIds!.slice(0, n);
  const set = new Set(ids);
  await until(async () => (await bench.okCount(ids)) === n, 600_000, 'accounts OK before the round', 500);
  const before = await Promise.all(costSample(bench).map((id) => bench.historyLength(id)));
  log(`mass disconnect: ${n} accounts, cap ${cap}`);
  const t0 = Date.now();
  const posted = await closedLoop(n, 50, (i) => bench.webhook(ids[i]!, 'ERROR'));
  const postedSeconds = (Date.now() - t0) / 1000;
  try {
    await until(async () => restartTimes(bench, set, t0).first.size === n, 1_800_000, 'first attempts', 500);
  } catch {
    // reported below as lost
  }
  const { first, calls, all } = restartTimes(bench, set, t0);
  const times = [...first.values()].sort((a, b) => a - b);
  const span = (times[times.length - 1]! - times[0]!) / 1000;
  // Whether the cap holds is judged apart from the ramp (events still arriving) and the tail: the rate between
  // the 10th and the 90th percentile of first attempts, and the busiest 5 s of all Unipile restart calls.
  const at = (q: number) => times[Math.floor(q * (times.length - 1))]!;
  const steady = (0.8 * times.length) / Math.max((at(0.9) - at(0.1)) / 1000, 0.001);
  const peak = busiest5s(all);
  // Recovered accounts are OK again; wait so the next round starts clean, and count incident cost.
  await until(async () => (await bench.okCount(ids)) === n, 600_000, 'accounts recovered', 500);
  await sleep(1000);
  const after = await Promise.all(costSample(bench).map((id) => bench.historyLength(id)));
  return {
    accounts: n,
    cap,
    postedSeconds: round(postedSeconds, 1),
    posted,
    everyFirstAttemptSeconds: round((times[times.length - 1]! - t0) / 1000, 1),
    // From the first post to each account's first restart call.
    firstAttemptP50Seconds: round((at(0.5) - t0) / 1000, 2),
    firstAttemptP99Seconds: round((at(0.99) - t0) / 1000, 2),
    attemptsPerSecond: round(n / Math.max(span, 0.001), 1),
    ratioToCap: cap === 'uncapped' ? null : round(n / Math.max(span, 0.001) / cap, 2),
    steadyAttemptsPerSecond: round(steady, 1),
    steadyRatioToCap: cap === 'uncapped' ? null : round(steady / cap, 2),
    busiest5sPerSecond: round(peak / 5, 1),
    lost: n - first.size,
    duplicates: calls - first.size,
    historyEventsPerIncident: Math.max(...after.map((a, i) => a - before[i]!)),
  };
}

export const massDisconnectScenario: Scenario = {
  name: 'mass-disconnect',
  needs: ['idle'],
  stack: true,
  async run(bench) {
    const runs: { historyEventsPerIncident: number }[] = [];
    const record = (run: { historyEventsPerIncident: number }) => {
      runs.push(run);
      log(`mass disconnect: ${JSON.stringify(run)}`);
    };
    for (const n of bench.settings.mass) record(await massDisconnect(bench, n, bench.settings.cap));
    log('restarting the worker without a cap');
    await bench.stopWorker();
    bench.startWorker({ UNIPILE_MAX_RPS: '100000' });
    await sleep(3000);
    for (const n of bench.settings.uncapped) record(await massDisconnect(bench, n, 'uncapped'));
    bench.out.massDisconnect = runs;
    bench.shared.massRuns = runs;
  },
};
