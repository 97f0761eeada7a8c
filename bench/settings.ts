// The benchmark's command line: sizes, rates, which scenarios to run and whether the doc is rewritten.
import { parseArgs } from 'node:util';

export interface Settings {
  quick: boolean;
  concurrency: number;
  /** The request rate at which answer latencies are judged (open loop). */
  rate: number;
  cap: number;
  /** Capped mass disconnects (the cap below what the machine sustains, so holding it can be judged). */
  mass: number[];
  /** Uncapped mass disconnects (what the machine sustains). */
  uncapped: number[];
  idle: number;
  /** Accounts of one provider failing at once (the provider-incident scenario): the first --accounts, or 10,000. */
  providerIncidentAccounts: number;
  /** Receipts stored before forwarding starts, drained while webhooks arrive at `rate` (the backlog scenario). */
  backlog: number;
  ingest: { webhooks: number; accounts: number };
  reads: number;
  idleWatchMs: number;
  /** Fewer cached workflows than idle accounts, so the oldest are evicted and the latency of waking one is measured. */
  cache: number;
  pg: string;
  secret: string;
  apiToken: string;
  temporalAddress?: string;
  /** The scenarios asked for with --only (all when unset). */
  only?: string[];
  /** Whether the API and worker processes run under `node --cpu-prof` (summarised into the results). */
  profile: boolean;
  /** Whether the run rewrites docs/BENCHMARKS.md: a full run of every scenario does, or any run with --write-doc. */
  writeDoc: boolean;
}

/** What --ingestion-only ran before the benchmark had scenarios: the pipeline, for tuning it. */
const INGESTION_ONLY = ['ingestion', 'worker-stopped', 'webhooks-at-rate', 'reads'];

export function parseSettings(argv: string[] = process.argv.slice(2)): Settings {
  const { values: args } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      accounts: { type: 'string' },
      idle: { type: 'string' },
      backlog: { type: 'string' },
      cap: { type: 'string', default: '10' },
      uncapped: { type: 'string' },
      concurrency: { type: 'string', default: '20' },
      'temporal-address': { type: 'string' },
      only: { type: 'string' },
      'ingestion-only': { type: 'boolean', default: false },
      'write-doc': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
    },
  });
  const quick = args.quick!;
  const mass = (args.accounts ?? (quick ? '200' : '1000')).split(',').map(Number);
  const uncapped = (args.uncapped ?? (quick ? '200' : '1000,10000')).split(',').map(Number);
  const only =
    args.only?.split(',').map((name) => name.trim()) ?? (args['ingestion-only'] ? INGESTION_ONLY : undefined);
  return {
    quick,
    concurrency: Number(args.concurrency),
    rate: 200,
    cap: Number(args.cap),
    mass,
    uncapped,
    idle: Math.max(Number(args.idle ?? (quick ? 300 : 10_000)), ...mass, ...uncapped),
    backlog: Number(args.backlog ?? (quick ? 2000 : 10_000)),
    providerIncidentAccounts: Number(args.accounts?.split(',')[0] ?? (quick ? 200 : 10_000)),
    ingest: quick ? { webhooks: 1000, accounts: 200 } : { webhooks: 5000, accounts: 1000 },
    reads: quick ? 500 : 2000,
    idleWatchMs: quick ? 5_000 : 20_000,
    cache: quick ? 100 : 2000,
    pg: process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432',
    secret: 'bench-webhook-secret',
    apiToken: 'bench-api-token-0123456789',
    temporalAddress: args['temporal-address'],
    only,
    writeDoc: args['write-doc']! || (!quick && !only),
    profile: args.profile!,
  };
}
