// Answer latency at a fixed rate, the way Unipile sends (open loop).
import { randomBytes } from 'node:crypto';
import { log, openLoop, until } from '../harness';
import type { Scenario } from './scenario';

export const webhooksAtRate: Scenario = {
  name: 'webhooks-at-rate',
  needs: [],
  stack: true,
  async run(bench) {
    const { rate, quick, ingest } = bench.settings;
    log(`webhooks at ${rate}/s (open loop)`);
    const rateIds = Array.from(
      { length: ingest.accounts },
      (_, i) => `rate${i}_${randomBytes(6).toString('base64url')}`,
    );
    bench.out.webhooksAtRate = await openLoop(rate * (quick ? 5 : 15), rate, (i) =>
      bench.webhook(rateIds[i % rateIds.length]!, 'OK'),
    );
    await until(async () => (await bench.pending()) === 0, 600_000, 'every receipt forwarded', 100);
    bench.shared.rateIds = rateIds;
  },
};
