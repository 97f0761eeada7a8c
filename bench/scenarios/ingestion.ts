// Ingestion: webhooks posted end to end (answered, delivered to their workflows, applied to the account rows),
// beside the HTTP ceiling and the Temporal ceiling measured at the same concurrency; what became of every event is
// counted (bench/ledger.ts), so a lost, dead or duplicated one shows.
import { randomBytes } from 'node:crypto';
import { signalAccount } from '../../src/platform/temporal-client';
import type { Bench } from '../environment';
import { closedLoop, log, postJson, round, sleep, until, type LoadResult } from '../harness';
import { countEvents, deliveredRate } from '../ledger';
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
  /** From the first post to the last receipt forwarded (dead ones are never forwarded). */
  deliveredSeconds: number;
}

/** Posts the webhooks round-robin over fresh accounts; returns once none is pending (forwarded or parked dead). */
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
  await until(async () => (await bench.pending()) === 0, 600_000, 'no receipt pending', 100);
  const lastForward = (await bench.db('webhook_receipts').where({ state: 'forwarded' }).max({ t: 'forwarded_at' }))[0]!
    .t as Date;
  return { ids, answered, startedAt, deliveredSeconds: (lastForward.getTime() - startedAt) / 1000 };
}

/** How long an account count may stay unchanged before the rest are taken as never coming (an event lost). */
const STALLED_MS = 120_000;

/**
 * Waits until every account of a round shows the round's last status; false if the count stopped moving first (an
 * account whose last event was lost or parked dead never shows it; the events counted say which).
 */
export async function allApplied(bench: Bench, ids: string[], what: string): Promise<boolean> {
  const { ingest } = bench.settings;
  const finalStatus = Math.floor((ingest.webhooks - 1) / ingest.accounts) % 2 === 0 ? 'CONNECTING' : 'OK';
  let most = -1;
  let movedAt = Date.now();
  for (;;) {
    const applied = Number(
      (await bench.db('accounts').whereIn('account_id', ids).where({ status: finalStatus }).count({ n: '*' }))[0]!.n,
    );
    if (applied === ids.length) return true;
    if (applied > most) [most, movedAt] = [applied, Date.now()];
    else if (Date.now() - movedAt > STALLED_MS) {
      log(`${what}: ${applied} of ${ids.length} accounts, none more in ${STALLED_MS / 1000} s`);
      return false;
    }
    await sleep(200);
  }
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
    const everyApplied = await allApplied(bench, round1.ids, 'every account applied its last event');
    const appliedSeconds = (Date.now() - round1.startedAt) / 1000;
    const events = await countEvents(bench, round1.ids, round1.answered);
    const deliveredPerSecond = deliveredRate(events, round1.deliveredSeconds);
    bench.out.ingestion = {
      webhooks: ingest.webhooks,
      accounts: ingest.accounts,
      answered: round1.answered,
      httpCeiling: http,
      temporalCeiling: temporal,
      everyEventInItsWorkflowSeconds: round(round1.deliveredSeconds, 2),
      deliveredPerSecond,
      everyEventAppliedSeconds: everyApplied ? round(appliedSeconds, 2) : null,
      ratioToTemporalCeiling: round(deliveredPerSecond / temporal.perSecond, 2),
      events,
    };
    bench.shared.temporalCeiling = temporal;
    bench.shared.ingestIds = round1.ids;
    log(`ingestion: delivered ${deliveredPerSecond}/s vs raw signalWithStart ${temporal.perSecond}/s`);
    log(`ingestion events: ${JSON.stringify(events)}`);
  },
};
