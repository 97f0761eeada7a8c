// docs/SCALING.md, rendered from one run's JSON (its `scaling`, `massDisconnect`, `cost` and `workerSweep` figures):
// each million-account figure beside the measured input it is scaled from. The only numbers typed in here are list
// prices, documented limits and the stated assumptions of the comparison, each with its source. Rewritten, never
// edited: `npx tsx bench/render-scaling.ts bench/results/<run>.json`, or any run that rewrites docs/BENCHMARKS.md.
import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { ROOT } from '../scripts/toolkit/processes';
import type { Json } from './report';

export const SCALING_DOC = resolve(ROOT, 'docs/SCALING.md');

const FLEET = 1_000_000;
const MONTH_S = 30 * 86_400;
/** Hours Temporal Cloud bills a month of storage at (its pricing page converts 1 GB to 744 GBh). */
const GBH_PER_MONTH = 744;

/** Temporal Cloud list prices, from docs.temporal.io/cloud/pricing as stored on 2026-12-02 (pay-as-you-go). */
const PRICES = {
  source: 'docs.temporal.io/cloud/pricing (pay-as-you-go list prices, read 2026-12-02)',
  /** USD per million actions, by monthly volume tier (Business plan and above; Developer pays the first tier throughout). */
  actionTiers: [
    [5e6, 50],
    [10e6, 45],
    [20e6, 40],
    [50e6, 35],
    [100e6, 30],
    [200e6, 25],
  ] as [number, number][],
  activeStoragePerGbh: 0.042,
  retainedStoragePerGbh: 0.00105,
};

/** The stated assumptions of the fleet-wide figures (not measured: what a fleet of this kind might see). */
const ASSUMED = {
  incidentsPerAccountPerDay: 0.01,
  shareOfIncidentsEscalating: 0.05,
  pollEveryMinutes: [5, 15],
  /** Accounts per page of Unipile's account list, as the reconciliation asks for them (src/unipile/unipile-api.ts). */
  listPageSize: 100,
};

const n = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits });
const gb = (bytes: number) => bytes / 1e9;
const usd = (x: number) => `$${x < 100 ? x.toFixed(2) : n(x)}`;

/** The monthly bill of `actions` at the tiered list price (past the last tier, the last tier's price). */
export function actionsUsd(actions: number): number {
  let left = actions;
  let floor = 0;
  let total = 0;
  for (const [upTo, price] of PRICES.actionTiers) {
    const inTier = Math.min(left, upTo - floor);
    total += (inTier / 1e6) * price;
    left -= inTier;
    floor = upTo;
    if (left <= 0) return total;
  }
  return total + (left / 1e6) * PRICES.actionTiers[PRICES.actionTiers.length - 1]![1];
}

function kinds(byKind: Record<string, number>): string {
  return Object.entries(byKind)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
}

function header(out: Json, json: string): string {
  const m = out.machine ?? {};
  return [
    `- **Command**: \`${out.run?.command ?? 'npm run bench'}\`; **JSON**: \`${json}\` (every measured figure below comes from it).`,
    `- **Machine**: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GiB, PostgreSQL ${m.postgres}, Temporal: ${m.temporal}; ${String(
      out.run?.startedAt ?? '',
    )
      .slice(0, 16)
      .replace(
        'T',
        ' ',
      )} UTC; load average ${m.loadAverageAtStart} when it started (everything, the benchmark included, shares those cores).`,
  ].join('\n');
}

function perAccountTable(s: Json): string {
  const rows: string[][] = [];
  const idle = s.idle;
  rows.push([
    'Idle account (its whole history: started by signal-with-start, OK applied)',
    n(idle.history.events),
    n(idle.history.bytes),
    `${idle.history.actions} (${kinds(idle.history.byKind)})`,
  ]);
  rows.push([
    `Idle account, added while idle (${n(idle.windowSeconds)} s watched, ${n(idle.idleSeconds)} s since its last event)`,
    n(idle.gained.events),
    n(idle.gained.bytes),
    String(idle.gained.actions),
  ]);
  const inc = s.incident;
  rows.push([
    `Incident: ERROR, one Unipile restart succeeds, OK again (${inc.unipileCalls} Unipile call, ${inc.accountEventRows} account_events rows, ${inc.webhookReceiptRows} webhook_receipts row)`,
    n(inc.events),
    n(inc.bytes),
    `${inc.actions} (${kinds(inc.byKind)})`,
  ]);
  const esc = s.fullEscalation;
  rows.push(
    esc
      ? [
          `Full escalation: every restart fails (${esc.unipileCalls} Unipile calls), the email, both reminders (its whole history)`,
          n(esc.events),
          n(esc.bytes),
          `${esc.actions} (${kinds(esc.byKind)})`,
        ]
      : ['Full escalation', 'not measured in this run', '', ''],
  );
  const held = s.heldByProviderIncident;
  rows.push(
    held
      ? [
          `Account held by a provider incident (${held.provider}: OK, failed, email held, incident closed, email sent; its whole history)`,
          n(held.events),
          n(held.bytes),
          `${held.actions} (${kinds(held.byKind)})`,
        ]
      : [
          'Account held by a provider incident',
          'not measured (the provider-incident scenario did not run with this one)',
          '',
          '',
        ],
  );
  return [
    '| case | history events | history bytes | Temporal Cloud actions |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function fleetTable(out: Json): string {
  const s = out.scaling;
  const idle = s.idle;
  const inc = s.incident;
  const esc = s.fullEscalation;
  const rows: string[][] = [];
  const idleBytes = FLEET * idle.history.bytes;
  rows.push([
    'Temporal history held by idle accounts (active storage)',
    `${n(gb(idleBytes), 2)} GB, ${usd(gb(idleBytes) * GBH_PER_MONTH * PRICES.activeStoragePerGbh)}/month`,
    `${n(idle.history.bytes)} bytes per idle account's history`,
    `× ${n(FLEET)} × ${GBH_PER_MONTH} h × $${PRICES.activeStoragePerGbh}/GBh (the proto size of the history: Temporal's own bookkeeping per workflow comes on top)`,
  ]);
  const idleEventsMonth = (idle.gained.events / Math.max(idle.idleSeconds, 1)) * MONTH_S;
  const idleActionsMonth = (idle.gained.actions / Math.max(idle.idleSeconds, 1)) * MONTH_S;
  rows.push([
    'History events and actions added by idle accounts in a month',
    `${n(FLEET * idleEventsMonth)} events, ${n(FLEET * idleActionsMonth)} actions`,
    `${idle.gained.events} events and ${idle.gained.actions} actions added in ${n(idle.idleSeconds)} s idle`,
    idle.gained.events === 0
      ? 'an idle account waits on a condition with no timer, so nothing is added until a signal comes; the watch is the evidence (a longer one would bound it tighter)'
      : `scaled linearly from the ${n(idle.idleSeconds)} s to 30 days`,
  ]);
  const incidentsMonth = FLEET * ASSUMED.incidentsPerAccountPerDay * 30;
  const escalationsMonth = incidentsMonth * ASSUMED.shareOfIncidentsEscalating;
  const recovered = incidentsMonth - escalationsMonth;
  // A month once every account is started: idle accounts (at the measured idle rate) and the incidents.
  const steadyMonth = FLEET * idleActionsMonth + recovered * inc.actions + (esc ? escalationsMonth * esc.actions : 0);
  const starts = FLEET * idle.history.actions;
  rows.push([
    'Temporal Cloud actions in a month',
    `${n(steadyMonth)} actions, ${usd(actionsUsd(steadyMonth))} at list price; the month the accounts are connected adds ${n(starts)} (${usd(actionsUsd(steadyMonth + starts) - actionsUsd(steadyMonth))})`,
    `${idle.history.actions} per account started; ${inc.actions} per incident${esc ? `; ${esc.actions} per full escalation` : ''}; idle: the rate above`,
    `${n(incidentsMonth)} incidents (assumed ${ASSUMED.incidentsPerAccountPerDay * 100}% of accounts a day), ${ASSUMED.shareOfIncidentsEscalating * 100}% of them escalating fully; tiered price from ${PRICES.source}; \`?live=true\` reads are one query action each and appear in no history`,
  ]);
  const historyMonth = recovered * inc.bytes + (esc ? escalationsMonth * esc.bytes : 0);
  rows.push([
    'History bytes added by incidents in a month',
    `${n(gb(historyMonth), 2)} GB`,
    `${n(inc.bytes)} bytes per incident${esc ? `, ${n(esc.bytes)} per full escalation` : ''}`,
    'same assumed incident rate; an account history continues-as-new past 2,000 events (or the server suggestion), so closed runs move to retained storage',
  ]);
  const mem = s.workerMemory;
  const kb = Math.max(mem.kbPerCachedWorkflow, 0);
  rows.push([
    'Worker memory to keep every account workflow cached',
    `${n((FLEET * kb) / 1024 / 1024, 1)} GB`,
    `${mem.kbPerCachedWorkflow} KB per cached workflow: worker RSS ${mem.cached.rssMb} MB with ${n(mem.cached.cachedWorkflows ?? mem.workflows)} cached vs ${mem.uncached.rssMb} MB with none, after the same ${n(mem.workflows)} signals`,
    "not needed: an evicted workflow replays its short history on its next signal (the benchmark's signal-to-evicted latency); the cache only has to hold the accounts in an incident at once",
  ]);
  const pg = s.postgres;
  const marginal = pg.marginal;
  if (marginal)
    rows.push([
      'PostgreSQL',
      `${n(gb(FLEET * marginal.bytesPerAccount), 1)} GB`,
      `${n(marginal.bytesPerAccount)} bytes per account: what ${n(marginal.accounts)} more accounts added to every table (indexes included), each started and through one incident (${marginal.tables.map((t: Json) => `${t.table} ${n(t.rows)} rows, ${n(t.bytes)} bytes`).join('; ')})`,
      `the run's whole database over its accounts was ${n(pg.bytesPerAccount ?? 0)} bytes each (${n(pg.totalBytes)} bytes, ${n(pg.accounts)} accounts, the tables' first pages included); receipts past RECEIPT_RETENTION are deleted, account_events grow with each incident`,
    ]);
  else
    rows.push([
      'PostgreSQL',
      pg.bytesPerAccount ? `${n(gb(FLEET * pg.bytesPerAccount), 1)} GB` : 'not measured',
      `${n(pg.bytesPerAccount ?? 0)} bytes per account: ${n(pg.totalBytes)} bytes in every table (indexes included) over ${n(pg.accounts)} accounts`,
      "after this run's events (idle starts, mass disconnects, escalation); a small run overstates it, each table's and index's first pages being shared by few accounts",
    ]);
  const w = s.wake;
  const defaultRps = w.defaults.UNIPILE_MAX_RPS;
  const machine = Math.max(0, ...w.uncappedRuns.map((r: Json) => r.attemptsPerSecond));
  const held = w.cappedRuns
    .map((r: Json) => `${r.steadyRatioToCap} of cap ${r.cap} at ${n(r.accounts)} accounts`)
    .join(', ');
  const hours = (rate: number) => n(FLEET / rate / 3600, 1);
  rows.push([
    'Waking every account after a provider outage (one restart each)',
    `${hours(defaultRps)} h at UNIPILE_MAX_RPS=${defaultRps} (the default); ${hours(50)} h at 50/s`,
    `the cap held at ${held || 'not measured'} (p10–p90 of first attempts); one worker process here sustained ${machine} first attempts/s uncapped`,
    `${n(FLEET)} ÷ the smaller of UNIPILE_MAX_RPS and (worker processes × ${machine}/s): one process here already outruns the default rate, so Unipile's rate is the bound`,
  ]);
  const pages = Math.ceil(FLEET / ASSUMED.listPageSize);
  const intervalH = w.defaults.RECONCILE_INTERVAL_MS / 3_600_000;
  rows.push([
    'Reconciliation (the account list read from Unipile)',
    `${n(pages)} list calls every ${intervalH} h, ${n((pages / defaultRps / 60) * 1)} min of the default rate each time`,
    `${ASSUMED.listPageSize} accounts per page (the page size the reconciliation asks for)`,
    `${n((pages * 24) / intervalH)} calls a day through the same UNIPILE_MAX_RPS budget as restarts: at a million accounts, raise RECONCILE_INTERVAL or UNIPILE_MAX_RPS`,
  ]);
  return [
    '| at 1,000,000 accounts | figure | measured input | how |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function pollingSection(out: Json): string {
  const s = out.scaling;
  const inc = s.incident;
  const pages = Math.ceil(FLEET / ASSUMED.listPageSize);
  const intervalH = s.wake.defaults.RECONCILE_INTERVAL_MS / 3_600_000;
  const incidentsDay = FLEET * ASSUMED.incidentsPerAccountPerDay;
  const escDay = incidentsDay * ASSUMED.shareOfIncidentsEscalating;
  const escCalls = s.fullEscalation?.unipileCalls ?? 0;
  const keeperCalls = (pages * 24) / intervalH + (incidentsDay - escDay) * inc.unipileCalls + escDay * escCalls;
  const keeperRows = incidentsDay * (inc.accountEventRows + inc.webhookReceiptRows);
  const firstAttempt = ((out.massDisconnect ?? []) as Json[]).find((m) => m.firstAttemptP50Seconds !== undefined);
  const rps = s.wake.defaults.UNIPILE_MAX_RPS as number;
  const perAccount = (FLEET * 24 * 60) / ASSUMED.pollEveryMinutes[0]! / 86_400;
  const listBased = (pages * 24 * 60) / ASSUMED.pollEveryMinutes[0]! / 86_400;
  const rows = ASSUMED.pollEveryMinutes.map((every) => {
    const polls = (24 * 60) / every;
    return [
      `cron every ${every} min, one \`GET /accounts/{id}\` per account`,
      n(FLEET * polls),
      n((FLEET * polls) / 86_400, 0),
      `${n(FLEET * polls)} row reads and writes (a last-checked time and the status per account per poll)`,
      `up to ${every} min (${every / 2} min on average)`,
    ];
  });
  rows.push([
    `cron every ${ASSUMED.pollEveryMinutes[0]} min, the account list (${ASSUMED.listPageSize} a page)`,
    n((pages * 24 * 60) / ASSUMED.pollEveryMinutes[0]!),
    n((pages * 24 * 60) / ASSUMED.pollEveryMinutes[0]! / 86_400, 1),
    `${n((FLEET * 24 * 60) / ASSUMED.pollEveryMinutes[0]!)} rows compared, the changed ones written`,
    `up to ${ASSUMED.pollEveryMinutes[0]} min`,
  ]);
  rows.push([
    'this keeper (webhooks, one workflow per account)',
    n(keeperCalls),
    n(keeperCalls / 86_400, 2),
    `${n(keeperRows)} rows written (${inc.accountEventRows} account_events and ${inc.webhookReceiptRows} receipt rows per incident, measured)`,
    firstAttempt
      ? `the webhook's arrival; first restart p50 ${firstAttempt.firstAttemptP50Seconds} s after a mass disconnect of ${n(firstAttempt.accounts)} here`
      : "the webhook's arrival",
  ]);
  return `## Compared with polling every account on a schedule

A polling design (as in Nango's syncs or Andoxa's jobs) runs a job every few minutes that asks Unipile for every
account's status and writes what it found. The same fleet, under these assumptions: ${n(FLEET)} accounts, each poll
one call per account (or the paged account list), each poll writing one row per account; for the keeper,
${ASSUMED.incidentsPerAccountPerDay * 100}% of accounts have an incident a day, ${ASSUMED.shareOfIncidentsEscalating * 100}% of incidents escalate fully
(${escCalls} restart calls measured), and the reconciliation reads the account list every ${intervalH} h.

| design | Unipile calls a day | calls/s on average | PostgreSQL work a day | time to notice a drop |
|---|---|---|---|---|
${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}

At the default UNIPILE_MAX_RPS of ${rps}, per-account polling at a million accounts needs ${n(perAccount / rps)} times
that rate (every ${ASSUMED.pollEveryMinutes[0]} min) and the list-based poll ${n(listBased / rps, 1)} times it. The keeper's
Unipile calls follow incidents, not the fleet's size, apart from the reconciliation.`;
}

/** The worker settings sweep of the same run, when it ran: the basis for the workers' defaults. */
function sweepSection(out: Json): string {
  const w = out.workerSweep;
  if (!w) return '';
  const rows = (w.rows as Json[]).map((r) =>
    [
      r.isDefault ? `defaults (${r.value} run)` : `\`${r.setting}\``,
      r.isDefault ? '' : `\`${r.value}\``,
      String(r.incidentsPerSecond),
      String(r.firstAttemptP50Seconds),
      String(r.firstAttemptP99Seconds),
      String(r.workerRssMb),
      `${r.lost} / ${r.duplicates}`,
    ].join(' | '),
  );
  const verdict =
    (w.clearWins as string[]).length > 0
      ? `Beating every default run by more than their spread: ${(w.clearWins as string[]).map((x) => `\`${x}\``).join(', ')}; on a quiet machine and at a larger size this is worth confirming before a default changes.`
      : 'No value beat every default run by more than their spread, so the defaults stay as they are.';
  return `## Worker settings, measured

The uncapped mass disconnect of ${n(w.accounts)} accounts, the worker restarted for each value, one setting changed at a
time from the defaults (${w.defaults}). The defaults run first, midway and last; the spread between those runs
(${w.noiseIncidentsPerSecond} incidents/s) is this machine's noise. Incidents/s is the accounts over the time from the first webhook posted to the
last account's first restart call; first attempt is the time from the first webhook posted to an account's first restart call.

| setting | value | incidents/s | first attempt p50 (s) | p99 (s) | worker RSS (MB) | lost / twice |
|---|---|---|---|---|---|---|
${rows.map((r) => `| ${r} |`).join('\n')}

${verdict}
`;
}

export function renderScaling(out: Json, jsonFile: string): string {
  const json = relative(ROOT, jsonFile);
  const s = out.scaling;
  if (!s) throw new Error('this results file has no scaling figures (run `npm run bench -- --only scaling`)');
  return `# Scaling to a million accounts

<!-- Generated by bench/scaling-doc.ts from a benchmark results file: do not edit by hand. -->

What a million connected accounts would cost this product, worked out from what one account costs in a measured run.
Each figure at a million stands beside the measured input it is scaled from; list prices, documented limits and the
assumptions of the fleet (incident rates, polling intervals) are the only numbers not from the run, each with its
source.

${header(out, json)}

## What one account costs, measured

Read back from Temporal (\`fetchHistory\`) for accounts of the run: events, the size of the history as Temporal
encodes it (protobuf), and the billable actions Temporal Cloud counts from those events: a workflow start (one with
its signal when started by signal-with-start), each signal, each activity scheduled and each retry, each timer, the
local-activity markers of one workflow task as one, each search-attribute upsert (not the version marker's), each
accepted update (docs.temporal.io/cloud/actions). Queries leave no event, so they are not in these counts.

${perAccountTable(s)}

An idle account's monthly cost is scaled from what its history gained while it sat idle: its history is read when it
has settled and again once the rest of this scenario has run, and whatever it gained over the time since its last
event is scaled linearly to 30 days.

## A million accounts

${fleetTable(out)}

## Temporal at that size

**History shards.** A Temporal cluster spreads workflows over a fixed number of history shards (by workflow id);
Temporal's production guidance is that shard count often bounds the cluster's throughput and is set when the cluster
is built, not changed afterwards (docs.temporal.io/self-hosted-guide/production-checklist). A million long-lived,
mostly idle account workflows weigh on storage far more than on shards: what the shard count must carry is the
burst, every account of a provider signalled at once, which the mass-disconnect figures measure per worker. Temporal
Cloud sizes this itself.

**Visibility.** Every account workflow is open for as long as the account is connected, so visibility holds a
million open executions, each with the search attributes the workflow upserts on a change of state. Temporal
supports PostgreSQL 12+ and MySQL 8.0.17+ as the visibility store with custom search attributes since server 1.20
(docs.temporal.io/visibility) and recommends Elasticsearch or OpenSearch for large-scale operation
(docs.temporal.io/self-hosted-guide/visibility/elasticsearch). This product reads accounts from its own PostgreSQL
tables, never from a visibility list query, so visibility serves operators' searches only; on a self-hosted cluster
at a million accounts, Elasticsearch is the store Temporal recommends.

${pollingSection(out)}

${sweepSection(out)}`;
}

export async function writeScalingDoc(out: Json, jsonFile: string): Promise<string> {
  // Loaded here, not at the top: the renderer alone (and its unit test) needs no formatter.
  const { format, resolveConfig } = await import('prettier');
  const options = (await resolveConfig(SCALING_DOC)) ?? {};
  writeFileSync(SCALING_DOC, await format(renderScaling(out, jsonFile), { ...options, filepath: SCALING_DOC }));
  return SCALING_DOC;
}
