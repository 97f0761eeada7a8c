// Idle scale: accounts known to the simulator, each started by an OK webhook; the worker's memory, the latency of
// a signal to an evicted and to a cached workflow, and what idle accounts add to their histories while watched.
import type { Bench } from '../environment';
import { closedLoop, log, round, rssMb, sleep, until } from '../harness';
import type { Scenario } from './scenario';

/** From the webhook's post to the account row updated. */
async function signalLatency(bench: Bench, accountId: string): Promise<number> {
  const t = Date.now();
  await bench.webhook(accountId, 'CONNECTING');
  await until(
    async () => (await bench.db('accounts').where({ account_id: accountId }).first())?.status === 'CONNECTING',
    60_000,
    'signal applied',
    5,
  );
  return Date.now() - t;
}

/** How many idle accounts have their histories watched, spread over the idle set. */
const WATCHED = 10;

/**
 * What idle accounts add to their histories over one window (`idleWatchMs`, seconds, not a day): their summed
 * length before and after. The window is the figure's whole evidence; the JSON and the doc name it.
 */
async function watchIdle(bench: Bench, idleIds: string[]): Promise<void> {
  const watched = Array.from(
    { length: WATCHED },
    (_, i) => idleIds[Math.floor(((i + 0.5) * idleIds.length) / WATCHED)]!,
  );
  const total = async () => (await Promise.all(watched.map((id) => bench.historyLength(id)))).reduce((a, b) => a + b);
  const before = await total();
  await sleep(bench.settings.idleWatchMs);
  const after = await total();
  bench.shared.idleSample = watched[0]!;
  bench.shared.idleWatch = { accounts: watched.length, before, after };
}

export const idle: Scenario = {
  name: 'idle',
  needs: [],
  stack: true,
  async run(bench) {
    const { idle: n, concurrency, cache } = bench.settings;
    log(`idle scale: starting ${n} account workflows`);
    const idleIds = Array.from({ length: n }, () => bench.sim.createAccount({ type: 'LINKEDIN' }).id);
    const idleStart = Date.now();
    const started = await closedLoop(n, concurrency, (i) => bench.webhook(idleIds[i]!, 'OK'));
    await until(async () => (await bench.okCount(idleIds)) === n, 1_800_000, 'idle accounts started', 500);
    const idleStartSeconds = (Date.now() - idleStart) / 1000;
    await sleep(2000);
    const workerRss = rssMb(bench.worker!.pid!);
    // The first accounts were evicted from the worker's cache long ago; the last one is still cached.
    const evictedMs = await signalLatency(bench, idleIds[0]!);
    const cachedMs = await signalLatency(bench, idleIds[n - 1]!);
    for (const id of [idleIds[0]!, idleIds[n - 1]!]) await bench.webhook(id, 'OK');
    bench.out.idle = {
      accounts: n,
      startedAnswered: started,
      allStartedSeconds: round(idleStartSeconds, 1),
      startedPerSecond: round(n / idleStartSeconds, 1),
      workerRssMb: workerRss,
      cachedWorkflows: cache,
      signalToEvictedWorkflowMs: evictedMs,
      signalToCachedWorkflowMs: cachedMs,
    };
    log(`idle: ${n} started in ${idleStartSeconds.toFixed(1)} s, worker RSS ${workerRss} MB`);
    bench.shared.idleIds = idleIds;
    await watchIdle(bench, idleIds);
  },
};
