// Ceilings with a worker running, measured in the same run as the product's figures they bound: (a) signals a
// workflow that does nothing but count them can take, and (b) incidents a minimal workflow can handle (a signal, one
// activity calling a local HTTP server, one local activity writing PostgreSQL). Both run bench-only workflows
// (bench/ceilings/) on a task queue of their own, in a worker process with the product worker's settings.
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { freePort, stopProcess } from '../../scripts/toolkit/processes';
import { CEILING_TABLE, incidentSignal, tickSignal } from '../ceilings/contract';
import type { Bench } from '../environment';
import { closedLoop, log, round, sleep, until } from '../harness';
import type { Scenario } from './scenario';

interface Counts {
  signalled: number;
  lastAt: number;
}

/** The local HTTP server the minimal incident calls: records when each workflow first called it. */
function touchServer(first: Map<string, number>): Promise<Server> {
  const server = createServer((req, res) => {
    const id = decodeURIComponent(/^\/restart\/(.+)$/.exec(req.url ?? '')?.[1] ?? '');
    if (id && !first.has(id)) first.set(id, Date.now());
    req.resume();
    res.end('{}');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** (a) Signals handled by a workflow that only counts them, sent as the forwarder sends (signal-with-start). */
async function signalCeiling(bench: Bench, taskQueue: string, counts: () => Promise<Counts>) {
  const { ingest, concurrency } = bench.settings;
  const run = randomBytes(3).toString('hex');
  log(`ceiling (a): ${ingest.webhooks} signals to ${ingest.accounts} counting workflows, worker running`);
  const before = (await counts()).signalled;
  const t0 = Date.now();
  const sent = await closedLoop(ingest.webhooks, concurrency, async (i) => {
    await bench.client.workflow.signalWithStart('countSignals', {
      workflowId: `ceiling-count-${run}-${i % ingest.accounts}`,
      taskQueue,
      signal: tickSignal,
      signalArgs: [i],
    });
  });
  const expected = before + sent.requests - sent.errors;
  await until(async () => (await counts()).signalled >= expected, 600_000, 'every signal counted', 50);
  const handledSeconds = ((await counts()).lastAt - t0) / 1000;
  return {
    signals: ingest.webhooks,
    workflows: ingest.accounts,
    sent,
    handledSeconds: round(handledSeconds, 2),
    signalsPerSecond: round((sent.requests - sent.errors) / handledSeconds, 1),
  };
}

/** (b) Minimal incidents on workflows already started, signalled as fast as a mass disconnect posts (50 at once). */
async function incidentCeiling(bench: Bench, taskQueue: string, n: number, first: Map<string, number>) {
  const run = randomBytes(3).toString('hex');
  const ids = Array.from({ length: n }, (_, i) => `ceiling-incident-${run}-${i}`);
  log(`ceiling (b): ${n} minimal incidents`);
  await closedLoop(n, bench.settings.concurrency, async (i) => {
    await bench.client.workflow.start('minimalIncident', { workflowId: ids[i]!, taskQueue });
  });
  await sleep(2000);
  const t0 = Date.now();
  const sent = await closedLoop(n, 50, async (i) => bench.client.workflow.getHandle(ids[i]!).signal(incidentSignal));
  const rows = async () => Number((await bench.db(CEILING_TABLE).whereIn('id', ids).count({ n: '*' }))[0]!.n);
  await until(async () => (await rows()) === n, 1_800_000, 'every minimal incident written', 200);
  const written = Date.now();
  const times = ids.map((id) => first.get(id)!).sort((a, b) => a - b);
  // The same measure as the mass disconnect's: accounts over the span from the first attempt to the last.
  const span = (times[n - 1]! - times[0]!) / 1000;
  return {
    incidents: n,
    sent,
    everyAttemptSeconds: round((times[n - 1]! - t0) / 1000, 1),
    everyIncidentWrittenSeconds: round((written - t0) / 1000, 1),
    incidentsPerSecond: round(n / Math.max(span, 0.001), 1),
  };
}

export const ceilings: Scenario = {
  name: 'ceilings',
  needs: [],
  stack: true,
  async run(bench) {
    await bench.db.raw(`create table if not exists ?? (id text not null, at timestamptz not null default now())`, [
      CEILING_TABLE,
    ]);
    const first = new Map<string, number>();
    const server = await touchServer(first);
    const port = await freePort();
    const taskQueue = `ceiling-worker-${randomBytes(3).toString('hex')}`;
    const worker = bench.spawn('bench/ceilings/worker.ts', {
      CEILING_TASK_QUEUE: taskQueue,
      CEILING_PORT: String(port),
      CEILING_HTTP_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
    const counts = async (): Promise<Counts> => (await fetch(`http://127.0.0.1:${port}/`)).json() as Promise<Counts>;
    try {
      await until(
        () =>
          counts().then(
            () => true,
            () => false,
          ),
        120_000,
        'the ceiling worker',
        500,
      );
      await sleep(1000); // let it poll
      const signals = await signalCeiling(bench, taskQueue, counts);
      log(`ceiling (a): ${signals.signalsPerSecond} signals/s`);
      const incidents = await incidentCeiling(bench, taskQueue, Math.min(...bench.settings.uncapped), first);
      log(`ceiling (b): ${incidents.incidentsPerSecond} incidents/s`);
      bench.out.ceilings = { signals, incidents };
    } finally {
      await stopProcess(worker);
      server.close();
    }
  },
};
