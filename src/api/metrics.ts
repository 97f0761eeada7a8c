import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    webhooksReceived: new Counter({
      name: 'unipile_webhooks_received_total',
      help: 'Unipile webhooks received, by source and result',
      labelNames: ['source', 'result'],
      registers: [registry],
    }),
    receiptsForwarded: new Counter({
      name: 'unipile_receipts_forwarded_total',
      help: 'Stored webhook receipts handed to account workflows, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    forwardFailures: new Counter({
      name: 'unipile_receipt_forward_failures_total',
      help: 'Attempts to forward a stored receipt that failed (Temporal unreachable)',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
