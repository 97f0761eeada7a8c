// Backend reads: one indexed read each; ?live=true (a workflow query) for comparison. Measured once the workers
// have applied everything before, so the reads are what is measured.
import type { Bench } from '../environment';
import { closedLoop, log, openLoop, sleep, until } from '../harness';
import type { Scenario } from './scenario';

function reader(bench: Bench, live: boolean): (i: number) => Promise<void> {
  const ids = bench.shared.ingestIds!;
  const auth = { authorization: `Bearer ${bench.settings.apiToken}` };
  return async (i) => {
    const id = ids[(i * 7919) % ids.length]!;
    const res = await fetch(`${bench.apiUrl}/api/accounts/${id}${live ? '?live=true' : ''}`, { headers: auth });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`read answered ${res.status}`);
  };
}

export const reads: Scenario = {
  name: 'reads',
  needs: ['ingestion'],
  stack: true,
  async run(bench) {
    const { rateIds } = bench.shared;
    const { reads: n, concurrency, rate, quick } = bench.settings;
    if (rateIds)
      await until(async () => (await bench.okCount(rateIds)) === rateIds.length, 600_000, 'rate accounts applied', 500);
    await sleep(3000);
    log(`backend reads: ${n} stored, ${n / 4} live`);
    bench.out.reads = {
      stored: await closedLoop(n, concurrency, reader(bench, false)),
      storedAtRate: await openLoop(rate * (quick ? 5 : 15), rate, reader(bench, false)),
      live: await closedLoop(n / 4, concurrency, reader(bench, true)),
    };
  },
};
