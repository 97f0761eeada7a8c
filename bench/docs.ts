// docs/BENCHMARKS.md, rendered from one run's JSON: the run, the machine, every figure beside its ceiling, what
// became of every event, what limits each figure and the targets. Every figure in the file comes from that JSON, so
// the doc is rewritten, never edited: a full `npm run bench` writes it, `npm run bench:doc -- <results.json>`
// re-renders it from a results file.
import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { ROOT } from '../scripts/toolkit/processes';
import { eventsTable, idleWindow, judged, rateOf, table, type Json } from './report';
import { writeScalingDoc } from './scaling-doc';

export const DOC = resolve(ROOT, 'docs/BENCHMARKS.md');

const n = (x: number) => x.toLocaleString('en-US');
const pct = (x: number) => `${Math.round(x * 100)} %`;
const notRecorded = 'not recorded in this JSON';

function when(out: Json): string {
  const { startedAt, finishedAt } = out.run ?? {};
  if (!startedAt) return `date ${notRecorded}`;
  const day = String(startedAt).slice(0, 10);
  const time = (t: string) => String(t).slice(11, 16);
  return finishedAt ? `${day}, ${time(startedAt)}–${time(finishedAt)} UTC` : `${day}, from ${time(startedAt)} UTC`;
}

function settingsLine(out: Json): string {
  const s = out.settings ?? {};
  const parts: string[] = [];
  if (out.ingestion) parts.push(`${n(out.ingestion.webhooks)} webhooks for ${n(out.ingestion.accounts)} accounts`);
  if (s.concurrency) parts.push(`${s.concurrency} concurrent requests`);
  parts.push(`latencies judged at ${rateOf(out)}/s (open loop)`);
  if (s.idle && out.idle) parts.push(`${n(s.idle)} idle accounts with ${n(s.cachedWorkflows)} cached workflows`);
  if (out.massDisconnect)
    parts.push(
      `mass disconnects of ${(s.capped ?? []).map(n).join(', ')} accounts under a cap of ${s.cap} Unipile calls/s, then ${(s.uncapped ?? []).map(n).join(', ')} uncapped`,
    );
  if (s.only) parts.push(`only ${s.only.join(', ')} (and what they need)`);
  return parts.join('; ');
}

function header(out: Json, json: string): string {
  const m = out.machine ?? {};
  const command = out.run?.command ?? (out.settings?.quick ? 'npm run bench -- --quick' : 'npm run bench');
  return [
    `- **Command**: \`${command}\` (${settingsLine(out)}).`,
    // Linked when it lies in the clone (a results file elsewhere is named, not linked).
    `- **JSON**: ${json.startsWith('..') ? `\`${json}\`` : `[\`${json}\`](../${json})`}; every figure below comes from it.`,
    `- **Code**: ${out.run?.commit ? `commit \`${out.run.commit}\`${out.run.uncommittedChanges ? ' with uncommitted changes' : ''}` : notRecorded}.`,
    `- **Machine**: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GiB, Node.js ${m.node}, PostgreSQL ${m.postgres ?? `(${notRecorded})`}, ${m.os ?? `OS ${notRecorded}`}; ${when(out)}${
      m.loadAverageAtStart === undefined
        ? ''
        : `; load average ${m.loadAverageAtStart} over the minute before it started (a quiet machine shows well under its ${m.cpus} cores)`
    }.`,
    m.postgres === 'not used'
      ? '- **What runs where**: in the benchmark process alone (no scenario of this run needs the running stack).'
      : `- **What runs where**: everything on those ${m.cpus} cores at once: PostgreSQL (local), the Temporal ${
          String(m.temporal).startsWith('external')
            ? `server at ${String(m.temporal).slice(9)}`
            : `dev server (${m.temporal})`
        }, the API (\`src/api/server.ts\`) and the worker (\`src/worker/main.ts\`, prebuilt workflow bundle) each in its own process, a bare Express process for the HTTP ceiling, and the benchmark itself with the Unipile simulator.`,
  ].join('\n');
}

function eventsSection(out: Json): string {
  const events = eventsTable(out);
  if (!events) return '';
  return `## What became of every event

From the same run (\`${out.run?.command ?? 'npm run bench'}\`, the JSON above). Counted from what a client can see once nothing is pending: the webhooks the API answered 200, the receipts
\`GET /api/receipts\` lists for the round's accounts (every state), and the receipt ids carried by the
\`unipileStatus\` signals in each account workflow's history (every run, back along continue-as-new). The server shows
a signal that arrived while its workflow had a task in flight only once that task completes, so a count showing a
loss is taken again for up to 30 s before it stands. **Lost**: answered
200 with no stored receipt, or stored and never signalled to its workflow; a receipt parked as dead is lost until an
operator replays it, and counts in **dead** as well. **Duplicated**: a receipt signalled more than once (shown, not
failed: the workflow drops the copy by its receipt id). A lost event here (or a mass-disconnect account never
attempted or attempted twice) makes \`npm run bench\` exit non-zero, so CI fails on it; the other figures are not
asserted.

${events}
`;
}

/** The explanations, each with the figures of this run; a paragraph whose scenario did not run is left out. */
function limits(out: Json): string {
  const i = out.ingestion;
  const p = out.ingestionWorkerStopped;
  const w = out.webhooksAtRate;
  const r = out.reads;
  const idle = out.idle;
  const mass = (out.massDisconnect ?? []) as Json[];
  const cost = out.cost;
  const rate = rateOf(out);
  const items: string[] = [];
  if (i)
    items.push(`**Every event in its workflow (${i.ratioToTemporalCeiling} of raw \`signalWithStart\`)**. The ceiling is the very
request the forwarder makes, sent straight from the benchmark with nothing else running: Temporal alone on the
machine (${i.temporalCeiling.perSecond}/s). End to end, the same cores also run the API (HTTP, validation, the insert,
the claim, the gRPC call), PostgreSQL and the worker, and each delivered event costs the Temporal server a workflow
task (scheduled, started, completed, with its marker and search-attribute events) on top of the signal.${
      p
        ? p.ratioToTemporalCeiling > i.ratioToTemporalCeiling
          ? ` With the worker stopped the pipeline reached ${p.ratioToTemporalCeiling} of the ceiling: the difference is the workflows' own processing, which shares the same CPU.`
          : ` With the worker stopped it reached ${p.ratioToTemporalCeiling} of the ceiling, no more than with the worker running: in this run the workflows' own processing was not what held it back.`
        : ''
    } Nothing in the pipeline serialises accounts (\`FORWARD_CONCURRENCY\` per API process, any number of API
processes), so what would move it is more cores: Temporal on its own (a cluster, Temporal Cloud, or the production
server on PostgreSQL), and API and worker processes beside it.${coresIn(out, 'ingestion')}${
      i.events
        ? ' The rate counts the receipts found in their workflows (a dead one is not delivered) over the time to the last one forwarded.'
        : ''
    }`);
  const c = out.ceilings;
  if (c)
    items.push(`**Ceilings with a worker running**: raw \`signalWithStart\` is sent with no worker, a ceiling no pipeline can
reach. Two more are measured in the same run, on a task queue of their own and a worker process with the product
worker's settings: (a) a workflow that does nothing but count its signals (through a sink, so nothing is added to its
history), ${c.signals.signalsPerSecond} signals/s for ${n(c.signals.signals)} signals to ${n(c.signals.workflows)} workflows; (b) a
minimal incident (a signal, one activity calling a local HTTP server, one local activity writing PostgreSQL),
${c.incidents.incidentsPerSecond} incidents/s at ${n(c.incidents.incidents)} workflows, measured as the mass disconnect is (accounts
over the span of first attempts). Events applied are judged against (a), the uncapped mass disconnect against (b).${coresIn(out, 'ceilings')}`);
  if (!String(out.machine?.temporal).startsWith('external'))
    items.push(`**The dev server's storage**: SQLite's default rollback journal was the first limit found, so \`npm run dev\` and
this benchmark start the dev server persisted to a file in WAL mode with \`synchronous=normal\`.`);
  if (w && i) {
    const above = rate > i.deliveredPerSecond;
    items.push(`**HTTP answers (p99 at ${rate}/s: ${w.p99Ms} ms, p50 ${w.p50Ms} ms)**: a webhook is answered once it is stored (one
insert), but the same process then forwards it and the worker applies it, so the answer competes with the work it
started. ${
      above
        ? `${rate}/s is above what the whole pipeline delivered here (${i.deliveredPerSecond}/s end to end), so for the ${w.seconds} s of the open loop a backlog builds and its forwarding and workflow tasks take the cores; the p99 then depends on how that work lines up with the answers.`
        : `${rate}/s is within what the whole pipeline delivered here (${i.deliveredPerSecond}/s end to end).`
    } What would move it: forwarding out of the API (\`FORWARDER_PLACEMENT=worker\`: the workers forward, woken by
\`LISTEN\`/\`NOTIFY\`), so the kernel, not one event loop, shares the CPU between answering and forwarding (the
backlog round measures both placements); or more cores. The bare Express
ceiling (p99 ${i.httpCeiling.p99Ms} ms at full speed) is the floor.`);
  }
  const b = out.backlog;
  if (b)
    items.push(`**Answers while a backlog drains**: ${n(b.receipts)} receipts (${b.perAccount} per account) are stored while
nothing forwards, then an API and a worker start on a database of their own and, as soon as the backlog is being
drained, webhooks arrive at ${rate}/s. ${(b.runs as Json[])
      .map(
        (r) =>
          `Forwarding in the ${r.placement} (\`FORWARDER_PLACEMENT=${r.placement}\`): p99 ${r.answered.p99Ms} ms, p50 ${r.answered.p50Ms} ms, ${n(r.pendingWhenLoopEnded)} receipts still pending when the loop ended, everything forwarded at ${r.forwardedPerSecond}/s`,
      )
      .join('; ')}. In the API, forwarding shares the event loop that answers; in the worker, the API only stores and
notifies, and the kernel shares the cores between the processes.${coresIn(out, 'backlog')}${busyIn(out, 'backlog')}`);
  if (r)
    items.push(`**Backend reads** are one indexed read of the account row (the workflow persists its view with every change):
${r.stored.perSecond}/s; \`?live=true\` runs a workflow query, which needs the worker and, for an evicted workflow, a
replay: ${r.live.perSecond}/s.`);
  if (idle)
    items.push(`**Idle scale**: starting a workflow costs a signal-with-start, a first workflow task and one local-activity write;
${n(idle.accounts)} started at ${idle.startedPerSecond}/s, the machine's pace. Worker memory (${idle.workerRssMb} MB) is
dominated by the workflow cache (\`WORKER_MAX_CACHED_WORKFLOWS\`, here ${n(idle.cachedWorkflows)}): an evicted workflow
replays its short history on the next signal (${idle.signalToEvictedWorkflowMs} ms from post to row, against
${idle.signalToCachedWorkflowMs} ms for a cached one).`);
  const capped = mass.filter((m) => m.cap !== 'uncapped');
  const uncapped = mass.filter((m) => m.cap === 'uncapped');
  if (capped.length > 0) {
    const held = capped.every((m) => m.steadyRatioToCap <= 1.1);
    items.push(`**Mass disconnect**: the cap (\`UNIPILE_MAX_RPS\`, a server-side task-queue rate limit, so it holds across every
worker) ${held ? 'held' : 'did not hold'}: ${capped
      .map(
        (m) =>
          `at ${n(m.accounts)} accounts, ${m.steadyAttemptsPerSecond}/s between the 10th and the 90th percentile of first attempts (${m.steadyRatioToCap} of the cap), ${m.ratioToCap} of it over the whole span with posting and tail, and ${m.busiest5sPerSecond}/s in the busiest 5 s`,
      )
      .join('; ')}. Temporal's limiter starts with a full bucket, so the first seconds can exceed the cap before it
settles.${
      uncapped.length > 0
        ? ` Uncapped, each incident (signal, workflow task, the restart activity on the Unipile queue, its completion, the persisted view) costs the Temporal server ${
            cost?.historyEventsPerIncidentRestartSucceeds ?? uncapped[0]!.historyEventsPerIncident
          } history events; the machine sustained ${uncapped.map((m) => `${m.attemptsPerSecond}/s at ${n(m.accounts)} accounts`).join(', ')}.`
        : ''
    } Lost (an account never attempted) and duplicates (a restart called twice) are counted from the simulator's calls.${coresIn(out, 'mass-disconnect')}`);
  }
  const profiled = profileReading(out);
  if (profiled) items.push(profiled);
  if (cost)
    items.push(`**History cost**: ${cost.historyEventsPerIncidentRestartSucceeds} events per incident that one restart fixes,
${cost.historyEventsFullEscalation} for a full escalation (5 attempts, the email and 2 reminders); idle accounts:
${idleWindow(cost)}. That window is all this figure measured: an idle account sets no timer, so nothing is expected
over a longer one either, but a day was not watched.`);
  return items.map((item) => `- ${item.replace(/\n/g, ' ')}`).join('\n');
}

/** The targets, judged against this run's figures. */
function targets(out: Json): string {
  const rows: string[][] = [];
  const yesNo = (ok: boolean) => (ok ? 'yes' : 'no');
  const rate = rateOf(out);
  const i = out.ingestion;
  const p = out.ingestionWorkerStopped;
  if (i)
    rows.push([
      'end-to-end delivery ≥ 0.8 of raw `signalWithStart`',
      `${i.ratioToTemporalCeiling}${p ? ` (${p.ratioToTemporalCeiling} with the worker stopped)` : ''}`,
      yesNo(i.ratioToTemporalCeiling >= 0.8),
    ]);
  // Against the ceilings measured with a worker running (bench/ceilings/): printed, never asserted.
  for (const j of judged(out))
    rows.push([j.target, `${j.figure} against ${j.ceiling}${j.ratio === null ? '' : ` (${j.ratio})`}`, yesNo(!!j.met)]);
  if (out.webhooksAtRate)
    rows.push([
      `HTTP p99 < 50 ms at ${rate} requests/s`,
      `${out.webhooksAtRate.p99Ms} ms (p50 ${out.webhooksAtRate.p50Ms} ms)`,
      yesNo(out.webhooksAtRate.p99Ms < 50),
    ]);
  for (const r of (out.backlog?.runs ?? []) as Json[])
    rows.push([
      `HTTP p99 < 50 ms at ${rate} requests/s while ${n(out.backlog.receipts)} stored receipts drain, forwarding in the ${r.placement}`,
      `${r.answered.p99Ms} ms (p50 ${r.answered.p50Ms} ms; ${n(r.pendingWhenLoopEnded)} still pending when the loop ended)`,
      yesNo(r.answered.p99Ms < 50),
    ]);
  if (out.reads)
    rows.push([
      `backend reads p99 < 50 ms at ${rate} requests/s`,
      `${out.reads.storedAtRate.p99Ms} ms (p50 ${out.reads.storedAtRate.p50Ms} ms)`,
      yesNo(out.reads.storedAtRate.p99Ms < 50),
    ]);
  const mass = (out.massDisconnect ?? []) as Json[];
  const capped = mass.filter((m) => m.cap !== 'uncapped');
  const at = (m: Json) => `at ${n(m.accounts)} ${m.cap === 'uncapped' ? 'uncapped' : `(cap ${m.cap})`}`;
  if (capped.length > 0)
    rows.push([
      'mass disconnect: the cap held within 10 %',
      capped
        .map((m) => `${m.steadyRatioToCap} of the cap between p10 and p90, ${m.ratioToCap} over the span`)
        .join('; '),
      yesNo(capped.every((m) => m.steadyRatioToCap <= 1.1)),
    ]);
  if (mass.length > 0)
    rows.push([
      'mass disconnect: nothing lost, duplicates 0',
      mass.map((m) => `lost ${m.lost}, duplicates ${m.duplicates} ${at(m)}`).join('; '),
      yesNo(mass.every((m) => m.lost === 0 && m.duplicates === 0)),
    ]);
  const counted = [i?.events, p?.events].filter(Boolean) as Json[];
  if (counted.length > 0)
    rows.push([
      'ingestion: nothing lost, nothing duplicated',
      counted.map((e) => `lost ${e.lost}, duplicated ${e.duplicated} of ${n(e.sent)}`).join('; '),
      yesNo(counted.every((e) => e.lost === 0 && e.duplicated === 0)),
    ]);
  const uncapped = mass.filter((m) => m.cap === 'uncapped');
  if (uncapped.length > 0)
    rows.push([
      'uncapped maximum reported',
      uncapped.map((m) => `${m.attemptsPerSecond} incidents/s at ${n(m.accounts)}`).join('; '),
      'yes',
    ]);
  if (out.idle)
    rows.push([
      'worker RSS < 1.5 GB at 10,000 idle accounts',
      `${out.idle.workerRssMb} MB at ${n(out.idle.accounts)} (${n(out.idle.cachedWorkflows)} cached)`,
      out.idle.accounts >= 10_000 ? yesNo(out.idle.workerRssMb < 1536) : `not judged: ${n(out.idle.accounts)} accounts`,
    ]);
  if (out.cost)
    rows.push([
      '0 history events per idle account-day',
      idleWindow(out.cost),
      out.cost.idleHistoryEventsWatched.added === 0 ? `none in the window watched; a day was not` : 'no',
    ]);
  if (rows.length === 0) return '';
  return `## Targets

From the same run (\`${out.run?.command ?? 'npm run bench'}\`, the JSON above).

${['| target | measured | met |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')}
`;
}

/** The provider-incident round: one provider's accounts failing together, emails held, then sent on closing. */
function providerIncidentSection(out: Json): string {
  const p = out.providerIncident;
  if (!p) return '';
  const rows: [string, string][] = [
    ['provider incidents opened', n(p.incidents)],
    ['opened after the threshold was crossed (the k-th failure webhook stored)', `${p.openAfterThresholdSeconds} s`],
    ['opened after the first failure', `${p.openedAfterFirstFailureSeconds} s`],
    ['first emails sent before it opened', n(p.emailedBeforeOpen)],
    ['emails sent while it was open', n(p.emailsWhileOpen)],
    ['the close answered in', `${p.closeAnsweredSeconds} s`],
    [
      'held emails sent after the close',
      `${n(p.accounts - p.lost - p.emailedBeforeOpen)} in ${p.heldEmailsSentSeconds} s (${p.emailsPerSecond}/s)`,
    ],
    ...(p.mailer
      ? ([
          [
            `the mailer alone, same email, 20 in flight (${n(p.mailer.emails)} emails)`,
            `${p.mailer.intoFilesPerSecond}/s into the same .eml outbox; ${p.mailer.overSmtpPerSecond}/s to an SMTP server on this machine`,
          ],
        ] as [string, string][])
      : []),
    ['lost (an account never emailed)', n(p.lost)],
    ['emailed twice', n(p.duplicates)],
  ];
  return `## A provider incident of ${n(p.accounts)} accounts

From the same run. ${n(p.accounts)} \`${p.provider}\` accounts lose their credentials over ${p.failuresPostedSeconds} s;
the provider incident opens, an operator closes it once every email is held, and every account still broken gets
its first email then, once. Counted at the benchmark's SMTP peer, per recipient.

${['| figure | measured |', '|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')}
`;
}

/** One sentence on the cores a scenario used (cpu.ts), when the run measured them. */
function coresIn(out: Json, scenario: string): string {
  const c = (out.cpu as Record<string, Json> | undefined)?.[scenario];
  if (!c) return '';
  const parts = (c.cores as { part: string; cores: number }[])
    .slice(0, 4)
    .map((p) => `${p.part} ${p.cores}`)
    .join(', ');
  return ` During this scenario the parts used ${c.totalCores} of the machine's ${out.machine?.cpus ?? '?'} cores (${parts}).`;
}

/** The busy share of the profiled processes a scenario started, by name (`--profile` runs only). */
function busyIn(out: Json, scenario: string): string {
  const profiles = ((out.profiles ?? []) as Json[]).filter(
    (p) => !p.error && String(p.name).includes(`-${scenario}-`) && String(p.name).endsWith('main thread'),
  );
  if (profiles.length === 0) return '';
  return ` Main threads busy (CPU profiles): ${profiles
    .map((p) => `${String(p.name).replace(/^\d+-/, '').replace(' · main thread', '')} ${pct(p.busyShare)}`)
    .join(', ')}.`;
}

/**
 * What the CPU profiles of a --profile run say limits the worker and the API: the busiest workflow thread of the
 * mass disconnect's worker (the SDK runs every workflow activation of a process on its workflow threads: one with
 * reuseV8Context, two without) and the backlog APIs' main threads.
 */
function profileReading(out: Json): string {
  const profiles = ((out.profiles ?? []) as Json[]).filter((p) => !p.error);
  const workflowThreads = profiles.filter(
    (p) =>
      /-mass-disconnect-worker · thread/.test(String(p.name)) ||
      /-provider-incident-worker · thread/.test(String(p.name)),
  );
  const busiest = workflowThreads.sort((a, b) => b.busyShare - a.busyShare)[0];
  if (!busiest) return '';
  const enter = (busiest.functions as { fn: string; share: number }[]).find((f) => f.fn === 'runInContext');
  const apis = profiles.filter((p) => /-backlog-API · main thread/.test(String(p.name)));
  return `**What the profiles say** (\`--profile\`): the worker's workflow thread (\`${busiest.name}\`) was busy
${pct(busiest.busyShare)} of ${busiest.wallSeconds} s${enter ? `, ${pct(enter.share)} of it entering the workflows' V8 context (\`runInContext\`)` : ''}:
every workflow task of a worker process runs on that one thread (the SDK's \`workflowThreadPoolSize\`, 1 with
\`reuseV8Context\`), so it is the first limit of events applied and incidents per second; the Temporal server takes most
of the other core (the table above). What would move it: more worker processes, or two workflow threads, each on a core
of its own, and Temporal on its own machine; on these two cores a second thread would compete with the server.${
    apis.length > 0
      ? ` While a backlog drained, the API's main thread was busy ${apis.map((p) => pct(p.busyShare)).join(' and ')} (the rounds in the order above), most of it in socket writes (\`writev\`: answers, PostgreSQL, gRPC); with the whole machine near its two cores, the answers wait for CPU, not for the API's own code.`
      : ''
  }`;
}

/** Cores each part used during each scenario (cpu.ts): what the two cores went to while its figures were taken. */
function cpuSection(out: Json): string {
  const cpu = out.cpu as
    Record<string, { wallSeconds: number; totalCores: number; cores: { part: string; cores: number }[] }> | undefined;
  if (!cpu || Object.keys(cpu).length === 0) return '';
  const rows = Object.entries(cpu).map(
    ([scenario, c]) =>
      `| ${scenario} | ${c.wallSeconds} s | ${c.totalCores} | ${c.cores
        .slice(0, 5)
        .map((p) => `${p.part} ${p.cores}`)
        .join('; ')} |`,
  );
  return `## Where the cores went

CPU time of each part during each scenario divided by its wall time (from \`/proc\`: every thread of a process, the
worker's Rust core and the Temporal server's goroutines included; PostgreSQL is all its processes). The machine has
${out.machine?.cpus ?? '?'} cores: a scenario near that total was limited by the CPU, and the largest part is where
the time went.${
    Object.values(cpu).some((c) => c.cores.some((p) => p.part === 'processes that ended'))
      ? " \"processes that ended\" are the processes a scenario started and stopped itself (the backlog round's API and worker, the ceilings' worker), counted together from the benchmark's reaped-children times."
      : ''
  }

${['| scenario | wall | cores used | largest parts (cores) |', '|---|---|---|---|', ...rows].join('\n')}
`;
}

/** The CPU profiles of a --profile run: busy share and where the JavaScript thread's time went. */
function profilesSection(out: Json): string {
  const profiles = out.profiles as
    ({ name: string; error?: string; wallSeconds?: number; busyShare?: number } & Json)[] | undefined;
  if (!profiles || profiles.length === 0) return '';
  const rows = profiles.map((p) =>
    p.error
      ? `| ${p.name} | not read: ${p.error} | | |`
      : `| ${p.name} | ${p.wallSeconds} s, busy ${pct(p.busyShare!)} | ${(p.areas as { area: string; share: number }[])
          .slice(0, 5)
          .map((a) => `${a.area} ${pct(a.share)}`)
          .join('; ')} | ${(p.functions as { fn: string; where: string; share: number }[])
          .slice(0, 3)
          .map((f) => `\`${f.fn}\` (${f.where}) ${pct(f.share)}`)
          .join('; ')} |`,
  );
  return `## CPU profiles

\`--profile\` ran the API and worker processes under \`node --cpu-prof\` (10 ms sampling); each profile covers one
process from its start to its end, named by the scenario that started it. Busy is the share of wall time the
process's JavaScript thread was not idle (the worker's Rust core is outside it); areas and functions are shares of
that busy time, by self time.

${['| process | wall, busy | where the busy time went | top functions |', '|---|---|---|---|', ...rows].join('\n')}
`;
}

/** The doc for one run's JSON; `jsonFile` is where that JSON lies (linked from the doc). */
export function renderDoc(out: Json, jsonFile: string): string {
  const json = relative(ROOT, resolve(jsonFile));
  const kind = out.settings?.quick ? 'A quick run' : out.settings?.only ? 'A partial run' : 'The last full run';
  return `# Benchmarks

<!-- Written by \`npm run bench\` from the run's JSON (or \`npm run bench:doc -- <results.json>\`): do not edit by hand. -->

\`npm run bench\` measures the event pipeline end to end on real parts and prints every figure beside the ceiling of
the part that limits it, measured in the same run. Each run writes its figures as JSON to \`bench/results/\`; a full
run (every scenario, no \`--quick\`) also rewrites this file from that JSON. \`--quick\` and \`--only\` runs print their
table and write their JSON but leave this file alone unless given \`--write-doc\`; \`npm run bench:doc --
<results.json>\` re-renders it from a results file. The figures are not asserted; only a lost event or a recovery
attempted twice makes the run fail (a receipt signalled twice is shown, not failed: delivery is at least once and the
workflow drops the copy by its receipt id). \`.ci/run\` runs \`npm run bench -- --quick\` once and fails if it
crashes, times out or reports one.

## ${kind}

${header(out, json)}

${table(out)}

${eventsSection(out)}
${providerIncidentSection(out)}
${cpuSection(out)}
${profilesSection(out)}
## What limits each figure

${limits(out)}

${targets(out)}
## Running it

\`\`\`sh
npm run bench                     # every scenario at full size; rewrites this file
npm run bench -- --quick          # small sizes, what CI runs; prints the table and writes JSON only
npm run bench -- --accounts 1000 --uncapped 10000 --cap 10 --idle 10000 --concurrency 20
npm run bench -- --temporal-address 127.0.0.1:7233   # against a Temporal you run (say, npm run prod:local's server)
npm run bench -- --quick --only reads,state-machine   # some scenarios (bench/scenarios/), with those they need
npm run bench -- --profile        # the API and worker under node --cpu-prof, summarised here (files in bench/results/)
npm run bench:doc -- bench/results/<run>.json        # this file again, from a results file
\`\`\`

It needs what the tests need: PostgreSQL at 127.0.0.1:5432 (\`TEST_DATABASE_BASE_URL\`) and Go for the Temporal CLI.
`;
}

/** Renders the doc for a run and writes it, formatted as the repository's Prettier settings want. */
export async function writeDoc(out: Json, jsonFile: string): Promise<string> {
  const options = (await resolveConfig(DOC)) ?? {};
  writeFileSync(DOC, await format(renderDoc(out, jsonFile), { ...options, filepath: DOC }));
  // The million-account estimate is rendered from the same run when it measured its inputs.
  if (out.scaling) await writeScalingDoc(out, jsonFile);
  return DOC;
}
