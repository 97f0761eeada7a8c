// Answers while a backlog drains, for each forwarding placement (FORWARDER_PLACEMENT): receipts are stored while
// nothing forwards, then an API and a worker start on a database and task queue of their own and, while the backlog
// drains, webhooks arrive at the judged rate (open loop). Forwarding in the API shares its event loop with the
// answers; forwarding in the worker leaves the API storing and notifying only.
import { randomBytes } from 'node:crypto';
import knex from 'knex';
import { createDb, ensureDatabase, migrateLatest } from '../../src/platform/db';
import { insertReceipts, type InboundEvent } from '../../src/inbound/inbound-events';
import { freePort, stopProcess, waitForHttp } from '../../scripts/toolkit/processes';
import type { Bench } from '../environment';
import { log, openLoop, round, sleep, until } from '../harness';
import type { Scenario } from './scenario';

/** Receipts per backlog account: several, so each account's order is exercised too. */
const PER_ACCOUNT = 5;

const PLACEMENTS = ['api', 'worker'] as const;

async function backlogRound(bench: Bench, placement: (typeof PLACEMENTS)[number]) {
  const { backlog, rate, quick, pg } = bench.settings;
  const name = `${bench.dbName}_backlog_${placement}`;
  const url = `${pg}/${name}`;
  await ensureDatabase(url);
  const db = createDb(url);
  try {
    await migrateLatest(db);
    const run = randomBytes(4)
      .toString('base64url')
      .replace(/[^A-Za-z0-9]/g, 'x');
    const accounts = Math.max(1, Math.ceil(backlog / PER_ACCOUNT));
    log(`backlog (${placement}): storing ${backlog} receipts for ${accounts} accounts`);
    const events: InboundEvent[] = Array.from({ length: backlog }, (_, i) => {
      const accountId = `bl${run}_${i % accounts}`;
      const message = Math.floor(i / accounts) % 2 === 0 ? 'CONNECTING' : 'OK';
      return {
        source: 'account_status',
        accountId,
        payload: { AccountStatus: { account_id: accountId, account_type: 'LINKEDIN', message } },
      };
    });
    for (let i = 0; i < events.length; i += 1000) await insertReceipts(db, events.slice(i, i + 1000));
    const pending = async () =>
      Number((await db('webhook_receipts').where({ state: 'pending' }).count({ n: '*' }))[0]!.n);

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      DATABASE_URL: url,
      TEMPORAL_TASK_QUEUE: `${bench.env.TEMPORAL_TASK_QUEUE}-bl-${placement}`,
      PORT: String(port),
      PUBLIC_BASE_URL: base,
      FORWARDER_PLACEMENT: placement,
    };
    const worker = bench.spawn('src/worker/main.ts', env);
    const api = bench.spawn('src/api/server.ts', env);
    try {
      await waitForHttp(`${base}/healthz`, { child: api, timeoutMs: 60_000 });
      const startedAt = Date.now();
      // Measured once the backlog is being drained, by whichever process forwards.
      await until(async () => (await pending()) < backlog, 120_000, 'the backlog draining', 100);
      const drainStarted = Date.now();
      const rateIds = Array.from({ length: 200 }, (_, i) => `blr${run}_${i}`);
      log(`backlog (${placement}): webhooks at ${rate}/s while it drains`);
      const answered = await openLoop(rate * (quick ? 5 : 15), rate, (i) =>
        bench.webhook(rateIds[i % rateIds.length]!, 'OK', 'LINKEDIN', base),
      );
      const leftWhenAnswered = await pending();
      await until(async () => (await pending()) === 0, 1_800_000, 'the backlog drained', 200);
      const drainedSeconds = (Date.now() - drainStarted) / 1000;
      const total = backlog + answered.requests - answered.errors;
      return {
        placement,
        answered,
        // Whether the loop ran while the backlog was still there: it must, for the answers to mean anything.
        pendingWhenLoopEnded: leftWhenAnswered,
        startToDrainingSeconds: round((drainStarted - startedAt) / 1000, 1),
        drainedSeconds: round(drainedSeconds, 1),
        forwardedPerSecond: round(total / drainedSeconds, 1),
      };
    } finally {
      await stopProcess(api);
      await stopProcess(worker);
    }
  } finally {
    await db.destroy();
    const admin = knex({ client: 'pg', connection: `${pg}/postgres` });
    await admin.raw('drop database if exists ?? with (force)', [name]);
    await admin.destroy();
  }
}

export const backlog: Scenario = {
  name: 'backlog',
  needs: [],
  stack: true,
  async run(bench) {
    const runs = [];
    for (const placement of PLACEMENTS) {
      const run = await backlogRound(bench, placement);
      log(`backlog (${placement}): ${JSON.stringify(run)}`);
      runs.push(run);
      await sleep(2000);
    }
    bench.out.backlog = { receipts: bench.settings.backlog, perAccount: PER_ACCOUNT, runs };
  },
};
