import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ForwarderMetrics } from '../../inbound/receipt-forwarder';

/**
 * A read shared by its callers: one call in flight at a time, its result reused for `ttlMs` from when it started.
 * Any number of requests (an anonymous flood of /readyz or /metrics) then costs at most one call per period.
 */
export function cachedRead<T>(ttlMs: number, read: () => Promise<T>): () => Promise<T> {
  let current: { promise: Promise<T>; startedAt: number; settled: boolean } | undefined;
  return () => {
    const now = Date.now();
    if (current && (!current.settled || now - current.startedAt < ttlMs)) return current.promise;
    const entry = { promise: read(), startedAt: now, settled: false };
    const settle = () => void (entry.settled = true);
    entry.promise.then(settle, settle);
    current = entry;
    return entry.promise;
  };
}

/** The promise, or a rejection after `ms` (the timer does not hold the process open). */
export function withTimeout<T>(p: Promise<T>, ms: number, what = 'timeout'): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what)), ms).unref())]);
}

// A scrape waits this long for the database at most: a read in flight is shared, so a hung one must end.
const GAUGE_READ_TIMEOUT_MS = 10_000;

function gaugeRead<T>(cacheMs: number, read: () => Promise<T>): () => Promise<T> {
  return cachedRead(cacheMs, () => withTimeout(read(), GAUGE_READ_TIMEOUT_MS, 'gauge read timed out'));
}

/** Rows of a delivery queue (receipts, backend events) still `pending` or parked `dead`, counted at scrape time. */
function queueGauge(registry: Registry, db: Knex, cacheMs: number, name: string, table: string, help: string): void {
  const read = gaugeRead(
    cacheMs,
    async () =>
      (await db(table).whereIn('state', ['pending', 'dead']).select('state').count({ n: '*' }).groupBy('state')) as {
        state: string;
        n: string | number;
      }[],
  );
  new Gauge({
    name,
    help,
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows = await read();
      this.reset();
      for (const state of ['pending', 'dead']) {
        this.set({ state }, Number(rows.find((r) => r.state === state)?.n ?? 0));
      }
    },
  });
}

/** The receipt forwarder's counters, and the callbacks it reports through. */
function forwarderMetrics(registry: Registry): ForwarderMetrics {
  const receiptsForwarded = new Counter({
    name: 'unipile_receipts_forwarded_total',
    help: 'Stored webhook receipts handed to account workflows, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const forwardFailures = new Counter({
    name: 'unipile_receipt_forward_failures_total',
    help: 'Tries to forward a stored receipt that failed, by kind (transient: Temporal unreachable; permanent: refused)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const receiptsParked = new Counter({
    name: 'unipile_receipts_dead_total',
    help: 'Receipts parked as dead after repeated permanent failures',
    registers: [registry],
  });
  const forwardLag = new Histogram({
    name: 'unipile_receipt_forward_lag_seconds',
    help: 'Time from storing a receipt to its delivery to the account workflow',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  return {
    forwarded: (outcome, lagSeconds) => {
      receiptsForwarded.inc({ outcome });
      forwardLag.observe(lagSeconds);
    },
    failed: (kind) => forwardFailures.inc({ kind }),
    dead: () => receiptsParked.inc(),
  };
}

/** Accounts with an open incident (recovery other than NONE), by provider and recovery. */
function incidentGauge(registry: Registry, db: Knex, cacheMs: number): void {
  const incidents = gaugeRead(
    cacheMs,
    async () =>
      (await db('accounts')
        .whereNot({ recovery: 'NONE' })
        .whereNot({ status: 'DELETED' })
        .select('account_type', 'recovery')
        .count({ n: '*' })
        .groupBy('account_type', 'recovery')) as { account_type: string | null; recovery: string; n: string }[],
  );
  new Gauge({
    name: 'unipile_incidents_open',
    help: 'Accounts with an open incident (recovery other than NONE), by provider and recovery, read at scrape time',
    labelNames: ['provider', 'recovery'],
    registers: [registry],
    async collect() {
      const rows = await incidents();
      this.reset();
      for (const r of rows) this.set({ provider: r.account_type ?? 'UNKNOWN', recovery: r.recovery }, Number(r.n));
    },
  });
}

/** Deletions a reconciliation run held back, waiting for POST /api/reconcile/confirm (0: none). */
function reconcileHeldGauge(registry: Registry, db: Knex, cacheMs: number): void {
  const readHeld = gaugeRead(
    cacheMs,
    async () =>
      (await db('reconcile_holds').where({ state: 'held' }).sum({ n: 'count' }).first()) as
        { n: string | number | null } | undefined,
  );
  new Gauge({
    name: 'unipile_reconcile_held',
    help: 'Accounts whose deletion a reconciliation run held (too many missing, or another workspace), read at scrape time',
    registers: [registry],
    async collect() {
      this.set(Number((await readHeld())?.n ?? 0));
    },
  });
}

/** 1 for each provider in incident (its users' emails held), 0 for the other providers with accounts or past incidents. */
function providerIncidentGauge(registry: Registry, db: Knex, cacheMs: number): void {
  const read = gaugeRead(cacheMs, async () => {
    const { rows } = (await db.raw(
      `select provider, bool_or(open) as open from (
         select provider, closed_at is null as open from provider_incidents
         union all
         select distinct account_type, false from accounts where account_type is not null
       ) p group by provider`,
    )) as { rows: { provider: string; open: boolean }[] };
    return rows;
  });
  new Gauge({
    name: 'unipile_provider_incident_open',
    help: "Whether a provider incident is open (1) or not (0), by provider, read at scrape time; while open, emails to that provider's users are held",
    labelNames: ['provider'],
    registers: [registry],
    async collect() {
      const rows = await read();
      this.reset();
      for (const r of rows) this.set({ provider: r.provider }, r.open ? 1 : 0);
    },
  });
}

/** Figures read from the database at scrape time. */
function databaseGauges(registry: Registry, db: Knex, cacheMs: number): void {
  queueGauge(
    registry,
    db,
    cacheMs,
    'unipile_receipts',
    'webhook_receipts',
    'Stored receipts waiting to be forwarded (pending) or parked (dead), read at scrape time',
  );
  queueGauge(
    registry,
    db,
    cacheMs,
    'unipile_backend_events',
    'backend_events',
    'Events for the backend waiting to be delivered (pending) or parked (dead), read at scrape time',
  );
  incidentGauge(registry, db, cacheMs);
  reconcileHeldGauge(registry, db, cacheMs);
  providerIncidentGauge(registry, db, cacheMs);
}

/** `cacheMs` (OPS_CACHE_TTL): how long the database figures are reused between scrapes. */
export function createMetrics(db?: Knex, { cacheMs = 5000 }: { cacheMs?: number } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const forwarder = forwarderMetrics(registry);
  if (db) databaseGauges(registry, db, cacheMs);
  return {
    registry,
    httpDuration: new Histogram({
      name: 'unipile_http_request_duration_seconds',
      help: 'HTTP requests answered, by method, route (its pattern) and status code',
      labelNames: ['method', 'route', 'code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    webhooksReceived: new Counter({
      name: 'unipile_webhooks_received_total',
      help: 'Unipile webhooks received, by source and result',
      labelNames: ['source', 'result'],
      registers: [registry],
    }),
    forwarder,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
