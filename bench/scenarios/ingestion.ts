// Ingestion: webhooks posted end to end (answered, delivered to their workflows, applied to the account rows),
// beside the HTTP ceiling and the Temporal ceiling measured at the same concurrency.
import { randomBytes } from 'node:crypto';
import { signalAccount } from '../../src/platform/temporal-client';
import type { Bench } from '../environment';
import { closedLoop, log, postJson, round, until, type LoadResult } from '../harness';
import type { Scenario } from './scenario';

/** Bare Express parsing the same JSON bodies: what HTTP alone allows on this machine. */
function httpCeiling(bench: Bench): Promise<LoadResult> {
  const { ingest, concurrency } = bench.settings;
  log(`HTTP ceiling: ${ingest.webhooks} bare Express JSON posts`);
  return closedLoop(ingest.webhooks, concurrency, (i) =>
    postJson(
      `http://127.0.0.1:${bench.barePort}/webhook`,
      { AccountStatus: { account_id: `a${i}`, message: 'OK' } },
      {},
    ),
  );
}

/**
 * The very request the forwarder makes (signalAccount), straight from here: no HTTP, no database. No worker polls
 * its task queue, so only the server's side is measured.
 */
function temporalCeiling(bench: Bench): Promise<LoadResult> {
  const { ingest, concurrency } = bench.settings;
  log(`Temporal ceiling: ${ingest.webhooks} raw signalWithStart`);
  const rawRun = randomBytes(3).toString('hex');
  const rawSettings = {
    address: bench.temporalAddress,
    namespace: 'default',
    taskQueue: `ceiling-${rawRun}`,
    policy: { retryIntervalMs: 3_600_000, maxRetries: 4, reminderScheduleMs: [], cookieStaleAfterMs: 86_400_000 },
  };
  return closedLoop(ingest.webhooks, concurrency, async (i) => {
    const status = { message: 'OK', receivedAt: new Date().toISOString(), receiptId: i };
    await signalAccount(bench.client, rawSettings, `ceiling${rawRun}_${i % ingest.accounts}`, { status });
  });
}

export interface IngestRound {
  ids: string[];
  answered: LoadResult;
  startedAt: number;
  deliveredSeconds: number;
}

/** Posts the webhooks round-robin over fresh accounts; returns once every one is delivered to its workflow. */
export async function ingestRound(bench: Bench, prefix: string): Promise<IngestRound> {
  const { ingest, concurrency } = bench.settings;
  const ids = Array.from(
    { length: ingest.accounts },
    (_, i) => `${prefix}${i}_${randomBytes(6).toString('base64url')}`,
  );
  const startedAt = Date.now();
  const answered = await closedLoop(ingest.webhooks, concurrency, (i) =>
    bench.webhook(ids[i % ingest.accounts]!, Math.floor(i / ingest.accounts) % 2 === 0 ? 'CONNECTING' : 'OK'),
  );
  await until(async () => (await bench.pending()) === 0, 600_000, 'every receipt forwarded', 100);
  const lastForward = (await bench.db('webhook_receipts').max({ t: 'forwarded_at' }))[0]!.t as Date;
  return { ids, answered, startedAt, deliveredSeconds: (lastForward.getTime() - startedAt) / 1000 };
}

/** Waits until every account of a round shows the round's last status. */
export function allApplied(bench: Bench, ids: string[], what: string): Promise<void> {
  const { ingest } = bench.settings;
  const finalStatus = Math.floor((ingest.webhooks - 1) / ingest.accounts) % 2 === 0 ? 'CONNECTING' : 'OK';
  return until(
    async () =>
      Number(
        (await bench.db('accounts').whereIn('account_id', ids).where({ status: finalStatus }).count({ n: '*' }))[0]!.n,
      ) === ids.length,
    600_000,
    what,
  );
}

export const ingestion: Scenario = {
  name: 'ingestion',
  needs: [],
  stack: true,
  async run(bench) {
    const { ingest } = bench.settings;
    const http = await httpCeiling(bench);
    const temporal = await temporalCeiling(bench);
    log(`ingestion: ${ingest.webhooks} webhooks for ${ingest.accounts} accounts`);
    const round1 = await ingestRound(bench, 'ing');
    await allApplied(bench, round1.ids, 'every account applied its last event');
    const appliedSeconds = (Date.now() - round1.startedAt) / 1000;
    const deliveredPerSecond = round(ingest.webhooks / round1.deliveredSeconds, 1);
    bench.out.ingestion = {
      webhooks: ingest.webhooks,
      accounts: ingest.accounts,
      answered: round1.answered,
      httpCeiling: http,
      temporalCeiling: temporal,
      everyEventInItsWorkflowSeconds: round(round1.deliveredSeconds, 2),
      deliveredPerSecond,
      everyEventAppliedSeconds: round(appliedSeconds, 2),
      ratioToTemporalCeiling: round(deliveredPerSecond / temporal.perSecond, 2),
    };
    bench.shared.temporalCeiling = temporal;
    bench.shared.ingestIds = round1.ids;
    log(`ingestion: delivered ${deliveredPerSecond}/s vs raw signalWithStart ${temporal.perSecond}/s`);
  },
};
