// Per-account inputs of the million-account estimate (docs/SCALING.md, bench/scaling-doc.ts), each measured on this
// run's own accounts: history events, bytes and Temporal Cloud billable actions of an idle account, an incident, a
// full escalation and an account held by a provider incident (read back from Temporal); worker memory per cached
// workflow; PostgreSQL bytes per account; and the rates that bound waking every account after an outage.
import { temporal } from '@temporalio/proto';
import { configSchema } from '../../src/platform/config';
import { freePort } from '../../scripts/toolkit/processes';
import type { Bench } from '../environment';
import { closedLoop, log, round, rssMb, sleep, until } from '../harness';
import type { Scenario } from './scenario';

declare module '../environment' {
  interface Shared {
    /** The account the cost scenario escalated fully (every restart failed, email, both reminders). */
    escalationId?: string;
  }
}

type History = temporal.api.history.v1.IHistory;

/** What a history (or a slice of one) costs: its events, its bytes and the Temporal Cloud actions it records. */
export interface HistoryCost {
  events: number;
  bytes: number;
  actions: number;
  /** The actions by kind, so the doc can say where they come from. */
  byKind: Record<string, number>;
}

/**
 * Billable actions as Temporal Cloud counts them from a history (docs.temporal.io/cloud/actions): a workflow start
 * (once with its signal when started by signal-with-start), each signal, each activity scheduled and each retry,
 * each timer, the local-activity markers of one workflow task as one, each search-attribute upsert (not the one
 * patched() makes), each accepted update, two per child workflow. Queries leave nothing in a history: not counted.
 */
export function historyCost(events: temporal.api.history.v1.IHistoryEvent[]): HistoryCost {
  const byKind: Record<string, number> = {};
  const add = (kind: string, n = 1) => void (n > 0 && (byKind[kind] = (byKind[kind] ?? 0) + n));
  const markerTasks = new Set<string>();
  events.forEach((e, i) => {
    if (e.workflowExecutionStartedEventAttributes) add('workflow started');
    if (e.workflowExecutionSignaledEventAttributes) {
      // Signal-with-start is one action for the start and its signal together.
      const withStart = i === 1 && !!events[0]?.workflowExecutionStartedEventAttributes;
      if (!withStart) add('signal');
    }
    if (e.activityTaskScheduledEventAttributes) add('activity scheduled');
    const attempt = e.activityTaskStartedEventAttributes?.attempt;
    if (attempt) add('activity retry', attempt - 1);
    if (e.timerStartedEventAttributes) add('timer started');
    if (e.markerRecordedEventAttributes)
      markerTasks.add(String(e.markerRecordedEventAttributes.workflowTaskCompletedEventId));
    const retries = e.workflowTaskCompletedEventAttributes?.meteringMetadata?.nonfirstLocalActivityExecutionAttempts;
    if (retries) add('local activity retry', retries);
    const upsert = e.upsertWorkflowSearchAttributesEventAttributes;
    if (upsert) {
      const keys = Object.keys(upsert.searchAttributes?.indexedFields ?? {});
      if (keys.some((k) => k !== 'TemporalChangeVersion')) add('search-attribute upsert');
    }
    if (e.workflowExecutionUpdateAcceptedEventAttributes) add('update');
    if (e.startChildWorkflowExecutionInitiatedEventAttributes) add('child workflow', 2);
    if (e.workflowExecutionOptionsUpdatedEventAttributes) add('options updated');
  });
  add('local activities (one per workflow task)', markerTasks.size);
  const bytes = temporal.api.history.v1.History.encode({ events }).finish().length;
  return { events: events.length, bytes, actions: Object.values(byKind).reduce((a, b) => a + b, 0), byKind };
}

async function history(bench: Bench, accountId: string): Promise<History> {
  return bench.client.workflow.getHandle(`account-${accountId}`).fetchHistory();
}

const eventMs = (e: temporal.api.history.v1.IHistoryEvent) =>
  Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

/** What `after` holds beyond `before` (the same run of the workflow, read twice). */
function added(before: History, after: History): HistoryCost {
  const n = before.events?.length ?? 0;
  const cost = historyCost(after.events ?? []);
  const base = historyCost(before.events ?? []);
  const byKind: Record<string, number> = {};
  for (const [k, v] of Object.entries(cost.byKind))
    if (v - (base.byKind[k] ?? 0) > 0) byKind[k] = v - (base.byKind[k] ?? 0);
  return {
    events: (after.events?.length ?? 0) - n,
    bytes: cost.bytes - base.bytes,
    actions: cost.actions - base.actions,
    byKind,
  };
}

/** A new LinkedIn account of the simulator, started by its OK webhook and left alone. */
async function freshIdle(bench: Bench): Promise<string> {
  const id = bench.sim.createAccount({ type: 'LINKEDIN' }).id;
  await bench.webhook(id, 'OK');
  await until(async () => (await bench.okCount([id])) === 1, 120_000, 'fresh account OK', 200);
  return id;
}

/** Rows this account has in the tables that grow per event. */
async function rowsOf(bench: Bench, accountId: string) {
  const count = async (table: string) =>
    Number((await bench.db(table).where({ account_id: accountId }).count({ n: '*' }))[0]!.n);
  return { accountEvents: await count('account_events'), webhookReceipts: await count('webhook_receipts') };
}

/** One incident on an idle account: ERROR, Unipile's restart succeeds, OK again. What its history and rows gained. */
async function incident(bench: Bench, accountId: string) {
  const before = await history(bench, accountId);
  const rowsBefore = await rowsOf(bench, accountId);
  const t0 = Date.now();
  await bench.webhook(accountId, 'ERROR');
  const restarted = () =>
    bench.sim.calls.filter(
      (c) => c.method === 'POST' && c.path === `/api/v1/accounts/${accountId}/restart` && Date.parse(c.at) >= t0,
    ).length;
  await until(async () => restarted() > 0, 120_000, 'the restart', 100);
  await until(
    async () => (await bench.db('accounts').where({ account_id: accountId }).first())?.status === 'OK',
    120_000,
    'OK again',
    100,
  );
  await sleep(2000); // the last workflow task completes
  const after = await history(bench, accountId);
  const rowsAfter = await rowsOf(bench, accountId);
  return {
    ...added(before, after),
    unipileCalls: restarted(),
    accountEventRows: rowsAfter.accountEvents - rowsBefore.accountEvents,
    webhookReceiptRows: rowsAfter.webhookReceipts - rowsBefore.webhookReceipts,
  };
}

/** The SDK's own count of cached workflows, from the worker's Prometheus endpoint (null when not exposed). */
async function stickyCacheSize(port: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('temporal_sticky_cache_size'));
    return line ? Number(line.trim().split(/\s+/).pop()) : null;
  } catch {
    return null;
  }
}

/**
 * Worker memory with `cache` workflows allowed in its cache, after one signal to each of `ids` (so each runs a
 * workflow task there): RSS, and how many workflows the SDK says it holds.
 */
async function workerAfterSignals(bench: Bench, ids: string[], cache: number) {
  const port = await freePort();
  await bench.stopWorker();
  bench.startWorker({
    UNIPILE_MAX_RPS: '100000',
    WORKER_MAX_CACHED_WORKFLOWS: String(cache),
    WORKER_METRICS_PORT: String(port),
  });
  await sleep(4000);
  const idleRss = rssMb(bench.worker!.pid!);
  await closedLoop(ids.length, bench.settings.concurrency, (i) => bench.webhook(ids[i]!, 'OK'));
  await until(async () => (await bench.pending()) === 0, 600_000, 'signals forwarded', 500);
  await sleep(5000); // the last workflow tasks complete
  return { cache, idleRssMb: idleRss, rssMb: rssMb(bench.worker!.pid!), cachedWorkflows: await stickyCacheSize(port) };
}

/** Every table of the product's schema: its size on disk with indexes and TOAST, and its rows. */
async function postgresSizes(bench: Bench) {
  const { rows } = (await bench.db.raw(
    `select c.relname as table, pg_total_relation_size(c.oid)::bigint as bytes, c.reltuples::bigint as estimate
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' and c.relname not like 'knex_%'
      order by 2 desc`,
  )) as { rows: { table: string; bytes: string }[] };
  const tables: { table: string; bytes: number; rows: number }[] = [];
  for (const r of rows) {
    const count = Number((await bench.db(r.table).count({ n: '*' }))[0]!.n);
    tables.push({ table: r.table, bytes: Number(r.bytes), rows: count });
  }
  return tables;
}

/**
 * PostgreSQL bytes added per account: `k` new accounts each started and then through one incident (ERROR, the
 * restart, OK), every table measured before and after, so the tables' first pages shared by all accounts drop out.
 */
async function marginalPostgres(bench: Bench, k: number) {
  const before = await postgresSizes(bench);
  const ids = Array.from({ length: k }, () => bench.sim.createAccount({ type: 'LINKEDIN' }).id);
  await closedLoop(k, bench.settings.concurrency, (i) => bench.webhook(ids[i]!, 'OK'));
  await until(async () => (await bench.okCount(ids)) === k, 600_000, 'new accounts OK', 500);
  const t0 = Date.now();
  await closedLoop(k, bench.settings.concurrency, (i) => bench.webhook(ids[i]!, 'ERROR'));
  const set = new Set(ids.map((id) => `/api/v1/accounts/${id}/restart`));
  await until(
    async () =>
      new Set(bench.sim.calls.filter((c) => set.has(c.path) && Date.parse(c.at) >= t0).map((c) => c.path)).size === k,
    600_000,
    'every new account restarted',
    500,
  );
  await until(async () => (await bench.okCount(ids)) === k, 600_000, 'new accounts OK again', 500);
  await sleep(2000);
  const after = await postgresSizes(bench);
  const was = new Map(before.map((t) => [t.table, t]));
  const tables = after
    .map((t) => ({
      table: t.table,
      bytes: t.bytes - (was.get(t.table)?.bytes ?? 0),
      rows: t.rows - (was.get(t.table)?.rows ?? 0),
    }))
    .filter((t) => t.bytes !== 0 || t.rows !== 0);
  const bytes = tables.reduce((sum, t) => sum + t.bytes, 0);
  return { accounts: k, tables, bytes, bytesPerAccount: Math.round(bytes / k) };
}

export const scaling: Scenario = {
  name: 'scaling',
  needs: ['idle', 'mass-disconnect', 'cost'],
  stack: true,
  async run(bench) {
    log('scaling: per-account inputs');
    // An idle account nothing touched since the idle scenario started it (past every mass disconnect's accounts, not
    // the last one, whose latency was measured), else a new one: its history now, and again at the end.
    const all = bench.shared.idleIds!;
    const touched = Math.max(...bench.settings.mass, ...bench.settings.uncapped);
    const idleId = all.length - 2 >= touched ? all[all.length - 2]! : await freshIdle(bench);
    const incidentId = await freshIdle(bench);
    const idleFirst = await history(bench, idleId);
    const idleFirstAt = Date.now();

    const perIncident = await incident(bench, incidentId);
    const escalation = bench.shared.escalationId
      ? historyCost((await history(bench, bench.shared.escalationId)).events ?? [])
      : null;
    const escalationRestarts = bench.shared.escalationId
      ? bench.sim.calls.filter(
          (c) => c.method === 'POST' && c.path === `/api/v1/accounts/${bench.shared.escalationId}/restart`,
        ).length
      : null;
    // Held by a provider incident: an account of the provider-incident scenario, when it ran in this run.
    let held: (HistoryCost & { provider: string }) | null = null;
    if (bench.out.providerIncident) {
      const provider = String((bench.out.providerIncident as { provider: string }).provider);
      const row = (await bench.db('accounts').where({ account_type: provider }).first()) as
        { account_id: string } | undefined;
      if (row) held = { ...historyCost((await history(bench, row.account_id)).events ?? []), provider };
    }

    // Worker memory: the same signals to the same accounts with no cache, then with room for all of them.
    const sample = all.filter((id) => id !== idleId).slice(0, 1000);
    log(`scaling: worker memory, ${sample.length} workflows with no cache, then all cached`);
    const uncached = await workerAfterSignals(bench, sample, 0);
    const cached = await workerAfterSignals(bench, sample, sample.length + 100);
    await bench.stopWorker();
    bench.startWorker({ UNIPILE_MAX_RPS: '100000' });
    await sleep(3000);
    const held_in_cache = cached.cachedWorkflows ?? sample.length;
    const memory = {
      workflows: sample.length,
      uncached,
      cached,
      kbPerCachedWorkflow: round(((cached.rssMb - uncached.rssMb) * 1024) / Math.max(held_in_cache, 1), 1),
    };

    // The idle account again: what its history gained while it sat idle through all of the above.
    const idleLast = await history(bench, idleId);
    const idleWindowSeconds = (Date.now() - idleFirstAt) / 1000;
    const lastEventAt = eventMs(idleFirst.events![idleFirst.events!.length - 1]!);
    const idleGain = added(idleFirst, idleLast);

    log('scaling: PostgreSQL bytes of 200 more accounts, each started and through one incident');
    const marginal = await marginalPostgres(bench, 200);
    const tables = await postgresSizes(bench);
    const accounts = tables.find((t) => t.table === 'accounts')?.rows ?? 0;
    const totalBytes = tables.reduce((s, t) => s + t.bytes, 0);

    const massRuns = (bench.out.massDisconnect ?? []) as {
      cap: number | 'uncapped';
      accounts: number;
      attemptsPerSecond: number;
      steadyAttemptsPerSecond: number;
      steadyRatioToCap: number | null;
    }[];
    const uncappedRuns = massRuns.filter((m) => m.cap === 'uncapped');
    const cappedRuns = massRuns.filter((m) => m.cap !== 'uncapped');
    const defaults = {
      UNIPILE_MAX_RPS: Number(configSchema.shape.UNIPILE_MAX_RPS.parse(undefined)),
      RECONCILE_INTERVAL_MS: Number(configSchema.shape.RECONCILE_INTERVAL.parse(undefined)),
    };

    bench.out.scaling = {
      idle: {
        accountId: idleId,
        history: historyCost(idleFirst.events ?? []),
        // Since its last event, through the whole window: whatever it gained is the idle rate.
        idleSeconds: round((Date.now() - lastEventAt) / 1000, 1),
        windowSeconds: round(idleWindowSeconds, 1),
        gained: idleGain,
      },
      incident: perIncident,
      incidentFromMassDisconnect: (bench.shared.massRuns ?? [])[0]?.historyEventsPerIncident ?? null,
      fullEscalation: escalation ? { ...escalation, unipileCalls: escalationRestarts } : null,
      heldByProviderIncident: held,
      workerMemory: memory,
      postgres: {
        tables,
        accounts,
        totalBytes,
        bytesPerAccount: accounts ? Math.round(totalBytes / accounts) : null,
        marginal,
      },
      wake: {
        defaults,
        benchCap: bench.settings.cap,
        cappedRuns: cappedRuns.map((m) => ({
          accounts: m.accounts,
          cap: m.cap,
          steadyAttemptsPerSecond: m.steadyAttemptsPerSecond,
          steadyRatioToCap: m.steadyRatioToCap,
        })),
        uncappedRuns: uncappedRuns.map((m) => ({
          accounts: m.accounts,
          attemptsPerSecond: m.attemptsPerSecond,
          steadyAttemptsPerSecond: m.steadyAttemptsPerSecond,
        })),
      },
    };
    log(
      `scaling: ${JSON.stringify({ incident: perIncident, memory: memory.kbPerCachedWorkflow, pgBytesPerAccount: totalBytes / Math.max(accounts, 1) })}`,
    );
  },
};
