import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ForwarderMetrics } from '../inbound/receipt-forwarder';

/** Rows of a delivery queue (receipts, backend events) still `pending` or parked `dead`, counted at scrape time. */
function queueGauge(registry: Registry, db: Knex, name: string, table: string, help: string): void {
  new Gauge({
    name,
    help,
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const rows = (await db(table)
        .whereIn('state', ['pending', 'dead'])
        .select('state')
        .count({ n: '*' })
        .groupBy('state')) as { state: string; n: string | number }[];
      this.reset();
      for (const state of ['pending', 'dead']) {
        this.set({ state }, Number(rows.find((r) => r.state === state)?.n ?? 0));
      }
    },
  });
}

export function createMetrics(db?: Knex) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
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
  if (db) {
    queueGauge(
      registry,
      db,
      'unipile_receipts',
      'webhook_receipts',
      'Stored receipts waiting to be forwarded (pending) or parked (dead), read at scrape time',
    );
    queueGauge(
      registry,
      db,
      'unipile_backend_events',
      'backend_events',
      'Events for the backend waiting to be delivered (pending) or parked (dead), read at scrape time',
    );
    new Gauge({
      name: 'unipile_incidents_open',
      help: 'Accounts with an open incident (recovery other than NONE), by provider and recovery, read at scrape time',
      labelNames: ['provider', 'recovery'],
      registers: [registry],
      async collect() {
        const rows = (await db('accounts')
          .whereNot({ recovery: 'NONE' })
          .whereNot({ status: 'DELETED' })
          .select('account_type', 'recovery')
          .count({ n: '*' })
          .groupBy('account_type', 'recovery')) as { account_type: string | null; recovery: string; n: string }[];
        this.reset();
        for (const r of rows) this.set({ provider: r.account_type ?? 'UNKNOWN', recovery: r.recovery }, Number(r.n));
      },
    });
  }
  const forwarder: ForwarderMetrics = {
    forwarded: (outcome, lagSeconds) => {
      receiptsForwarded.inc({ outcome });
      forwardLag.observe(lagSeconds);
    },
    failed: (kind) => forwardFailures.inc({ kind }),
    dead: () => receiptsParked.inc(),
  };
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
