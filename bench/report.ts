// The tables of a run, laid out from its JSON: every figure beside the ceiling that limits it (measured in the same
// run), what became of every event sent, and the counts that make the run fail. Sections whose scenario did not run
// (--only), or figures an older JSON does not have, are left out.
import type { LoadResult } from './harness';
import type { EventCount } from './ledger';

// The figures are plain JSON the scenarios wrote themselves; read back loosely to lay out the tables.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;
type Row = string[];

const latency = (r: LoadResult | Json) => `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
/** The request rate at which answer latencies are judged (in the JSON's settings since it has been recorded). */
export const rateOf = (out: Json): number => out.settings?.rate ?? 200;

function markdown(header: string[], rows: Row[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function ingestionRows(i: Json, signals?: Json): Row[] {
  const applied = appliedPerSecond(i);
  const temporal = `Temporal ceiling ${i.temporalCeiling.perSecond}/s`;
  return [
    ['HTTP ceiling (bare Express JSON)', `${i.httpCeiling.perSecond}/s`, 'itself a ceiling', latency(i.httpCeiling)],
    [
      'Temporal ceiling (raw signalWithStart)',
      `${i.temporalCeiling.perSecond}/s`,
      'itself a ceiling',
      latency(i.temporalCeiling),
    ],
    [
      `Webhooks answered (${i.webhooks} for ${i.accounts} accounts)`,
      `${i.answered.perSecond}/s`,
      `HTTP ceiling ${i.httpCeiling.perSecond}/s (${ratio(i.answered.perSecond, i.httpCeiling.perSecond)})`,
      latency(i.answered),
    ],
    [
      'Every event in its workflow',
      `${i.deliveredPerSecond}/s`,
      `${temporal} (**${i.ratioToTemporalCeiling}**)`,
      `last one ${i.everyEventInItsWorkflowSeconds} s after the first post`,
    ],
    [
      'Every event applied (account rows)',
      i.everyEventAppliedSeconds === null ? 'not all' : `${i.everyEventAppliedSeconds} s (${applied}/s)`,
      signals && applied !== null
        ? `ceiling (a) ${signals.signalsPerSecond}/s (**${ratio(applied, signals.signalsPerSecond)}**, target 0.8)`
        : '',
      i.everyEventAppliedSeconds === null
        ? 'some account never showed its last event: see the events counted'
        : 'from the first post to the last account row showing its last event',
    ],
  ];
}

function atRateRows(w: LoadResult, rate: number, http?: LoadResult): Row[] {
  return [
    [
      `Webhooks at ${rate}/s (open loop)`,
      `${w.perSecond}/s`,
      http ? `bare Express p99 ${http.p99Ms} ms at full speed` : '',
      `p50 ${w.p50Ms} ms, p99 **${w.p99Ms} ms**`,
    ],
  ];
}

function workerStoppedRows(p: Json, temporal?: LoadResult): Row[] {
  return [
    [
      'Every event in its workflow, worker stopped',
      `${p.deliveredPerSecond}/s`,
      `${temporal ? `Temporal ceiling ${temporal.perSecond}/s ` : ''}(**${p.ratioToTemporalCeiling}**)`,
      p.backlogAppliedAfterWorkerStartSeconds === null
        ? 'the backlog was not all applied: see the events counted'
        : `backlog applied ${p.backlogAppliedAfterWorkerStartSeconds} s after the worker started`,
    ],
  ];
}

function readsRows(r: Record<string, LoadResult>, rate: number, http?: LoadResult): Row[] {
  return [
    [
      'Backend reads (stored view)',
      `${r.stored!.perSecond}/s`,
      http ? `HTTP ceiling ${http.perSecond}/s` : '',
      latency(r.stored!),
    ],
    [
      `Backend reads at ${rate}/s (open loop)`,
      `${r.storedAtRate!.perSecond}/s`,
      '',
      `p50 ${r.storedAtRate!.p50Ms} ms, p99 **${r.storedAtRate!.p99Ms} ms**`,
    ],
    [
      'Backend reads (?live=true, workflow query)',
      `${r.live!.perSecond}/s`,
      `stored view ${r.stored!.perSecond}/s`,
      latency(r.live!),
    ],
  ];
}

function idleRows(idle: Json, temporal?: LoadResult): Row[] {
  return [
    [
      `Idle accounts started (${idle.accounts})`,
      `${idle.startedPerSecond}/s`,
      temporal ? `Temporal ceiling ${temporal.perSecond}/s` : '',
      `all in ${idle.allStartedSeconds} s; worker RSS ${idle.workerRssMb} MB (cache ${idle.cachedWorkflows})`,
    ],
    [
      'Signal to an evicted / a cached workflow',
      `${idle.signalToEvictedWorkflowMs} ms / ${idle.signalToCachedWorkflowMs} ms`,
      '',
      'post → row updated',
    ],
  ];
}

function massRows(runs: Json[], incidents?: Json): Row[] {
  const ceiling = (m: Json) =>
    incidents && incidents.incidents === m.accounts
      ? `ceiling (b) ${incidents.incidentsPerSecond}/s (**${ratio(m.attemptsPerSecond, incidents.incidentsPerSecond)}**, target 0.9)`
      : 'none: what the machine sustains';
  return runs.map((m) => [
    m.cap === 'uncapped'
      ? `Mass disconnect, ${m.accounts} accounts, uncapped`
      : `Mass disconnect, ${m.accounts} accounts, cap ${m.cap}`,
    `${m.attemptsPerSecond} attempts/s`,
    m.ratioToCap === null
      ? ceiling(m)
      : `cap ${m.cap}/s (${m.ratioToCap} over the span, **${m.steadyRatioToCap}** p10–p90)`,
    `p10–p90 of first attempts ${m.steadyAttemptsPerSecond}/s, busiest 5 s ${m.busiest5sPerSecond}/s; all first attempts in ${m.everyFirstAttemptSeconds} s (posting took ${m.postedSeconds} s); lost ${m.lost}, duplicates ${m.duplicates}`,
  ]);
}

/** What the idle watch measured, in words: how many accounts, over how long. */
export function idleWindow(cost: Json): string {
  const w = cost.idleHistoryEventsWatched;
  const accounts = w.accounts ?? 1;
  return `${w.added} added to ${accounts} idle account${accounts === 1 ? "'s history" : "s' histories"} in ${w.seconds} s of watching`;
}

function costRows(cost: Json): Row[] {
  const w = cost.idleHistoryEventsWatched;
  return [
    [
      `History events added by idle accounts in ${w.seconds} s`,
      String(w.added),
      '',
      `${idleWindow(cost)} (that window only, not a day)`,
    ],
    [
      'History events per incident',
      String(cost.historyEventsPerIncidentRestartSucceeds),
      '',
      `restart succeeds; full escalation (5 attempts, email, 2 reminders): ${cost.historyEventsFullEscalation}`,
    ],
    ['Longest history sampled', String(cost.longestHistorySampled), `continue-as-new: ${cost.continueAsNewBound}`, ''],
  ];
}

/** Events applied per second end to end: the webhooks over the time to the last account row showing its last event. */
export const appliedPerSecond = (i: Json): number | null =>
  i.everyEventAppliedSeconds ? Math.round((i.webhooks / i.everyEventAppliedSeconds) * 10) / 10 : null;

/** The largest uncapped mass disconnect no larger than the minimal-incident ceiling's size (the one it is judged on). */
export const uncappedAtCeiling = (out: Json): Json | undefined =>
  ((out.massDisconnect ?? []) as Json[]).find(
    (m) => m.cap === 'uncapped' && m.accounts === out.ceilings?.incidents?.incidents,
  );

/** A product figure against a ceiling with a worker running: its ratio and whether the target is met (printed only). */
export interface Judged {
  target: string;
  figure: string;
  ceiling: string;
  ratio: number | null;
  met: boolean | null;
}

/** The two targets judged against the worker-running ceilings; empty when either side did not run. */
export function judged(out: Json): Judged[] {
  const c = out.ceilings;
  if (!c) return [];
  const found: Judged[] = [];
  if (out.ingestion) {
    const applied = appliedPerSecond(out.ingestion);
    const r = applied === null ? null : ratio(applied, c.signals.signalsPerSecond);
    found.push({
      target: 'events applied ≥ 0.8 of a counting workflow with a worker',
      figure: applied === null ? 'not all applied' : `${applied} events/s`,
      ceiling: `${c.signals.signalsPerSecond} signals/s`,
      ratio: r,
      met: r === null ? false : r >= 0.8,
    });
  }
  const m = uncappedAtCeiling(out);
  if (m) {
    const r = ratio(m.attemptsPerSecond, c.incidents.incidentsPerSecond);
    found.push({
      target: `mass disconnect without cap ≥ 0.9 of a minimal incident (${m.accounts} accounts)`,
      figure: `${m.attemptsPerSecond} incidents/s`,
      ceiling: `${c.incidents.incidentsPerSecond} incidents/s`,
      ratio: r,
      met: r >= 0.9,
    });
  }
  return found;
}

function ceilingRows(c: Json): Row[] {
  return [
    [
      `Ceiling (a): signals to a counting workflow, worker running (${c.signals.signals} to ${c.signals.workflows})`,
      `${c.signals.signalsPerSecond}/s`,
      'itself a ceiling',
      `every signal handled ${c.signals.handledSeconds} s after the first was sent; sent ${latency(c.signals.sent)}`,
    ],
    [
      `Ceiling (b): minimal incidents (signal, HTTP activity, local PostgreSQL write; ${c.incidents.incidents})`,
      `${c.incidents.incidentsPerSecond}/s`,
      'itself a ceiling',
      `every attempt in ${c.incidents.everyAttemptSeconds} s, every row written in ${c.incidents.everyIncidentWrittenSeconds} s`,
    ],
  ];
}

function backlogRows(b: Json, rate: number): Row[] {
  return (b.runs as Json[]).map((r) => [
    `Webhooks at ${rate}/s while ${b.receipts} stored receipts drain, forwarding in the ${r.placement}`,
    `${r.answered.perSecond}/s`,
    `target p99 < 50 ms: **${r.answered.p99Ms < 50 ? 'met' : 'missed'}**`,
    `p50 ${r.answered.p50Ms} ms, p99 **${r.answered.p99Ms} ms**; ${r.pendingWhenLoopEnded} still pending when the loop ended; backlog and posts forwarded at ${r.forwardedPerSecond}/s (${r.drainedSeconds} s)`,
  ]);
}

function judgedRows(out: Json): Row[] {
  return judged(out).map((j) => [
    `Target: ${j.target}`,
    j.figure,
    `${j.ceiling}${j.ratio === null ? '' : ` (**${j.ratio}**)`}`,
    j.met ? 'met' : 'missed',
  ]);
}

/** The worker settings sweep (worker-sweep.ts): each value against the default runs, which are its ceiling and noise. */
function workerSweepRows(w: Json): Row[] {
  const base = `defaults ${(w.defaultRunsIncidentsPerSecond as number[]).join(' and ')}/s`;
  return (w.rows as Json[]).map((r) => [
    r.isDefault
      ? `Worker sweep (${w.accounts} accounts, uncapped), defaults ${r.value}: ${w.defaults}`
      : `Worker sweep: ${r.setting}=${r.value}`,
    `${r.incidentsPerSecond} incidents/s`,
    r.isDefault ? `noise ${w.noiseIncidentsPerSecond}/s` : base,
    `first attempt p50 ${r.firstAttemptP50Seconds} s, p99 ${r.firstAttemptP99Seconds} s; worker RSS ${r.workerRssMb} MB; lost ${r.lost}, duplicates ${r.duplicates}`,
  ]);
}

/** Every figure of the run, one row each, beside the ceiling that limits it. */
export function table(out: Json): string {
  const rate = rateOf(out);
  const http: LoadResult | undefined = out.ingestion?.httpCeiling;
  const temporal: LoadResult | undefined = out.ingestion?.temporalCeiling;
  const rows: Row[] = [
    ...(out.ceilings ? ceilingRows(out.ceilings) : []),
    ...(out.ingestion ? ingestionRows(out.ingestion, out.ceilings?.signals) : []),
    ...(out.webhooksAtRate ? atRateRows(out.webhooksAtRate, rate, http) : []),
    ...(out.backlog ? backlogRows(out.backlog, rate) : []),
    ...(out.ingestionWorkerStopped ? workerStoppedRows(out.ingestionWorkerStopped, temporal) : []),
    ...(out.reads ? readsRows(out.reads, rate, http) : []),
    ...(out.idle ? idleRows(out.idle, temporal) : []),
    ...(out.massDisconnect ? massRows(out.massDisconnect, out.ceilings?.incidents) : []),
    ...(out.cost ? costRows(out.cost) : []),
    ...(out.workerSweep ? workerSweepRows(out.workerSweep) : []),
    ...(out.stateMachineEventsPerSecond !== undefined
      ? [['State machine (pure reducer)', `${out.stateMachineEventsPerSecond}/s`, '', 'no I/O at all']]
      : []),
    ...judgedRows(out),
  ];
  return markdown(['measure', 'figure', 'ceiling (same run)', 'detail'], rows);
}

/** The ingestion rounds whose events were counted, under their names. */
function countedRounds(out: Json): [string, EventCount][] {
  const rounds: [string, EventCount | undefined][] = [
    ['ingestion', out.ingestion?.events],
    ['ingestion, worker stopped', out.ingestionWorkerStopped?.events],
  ];
  return rounds.filter((r): r is [string, EventCount] => r[1] !== undefined);
}

/** What became of every webhook of the ingestion rounds; null when the JSON has no counts (an older run). */
export function eventsTable(out: Json): string | null {
  const rounds = countedRounds(out);
  if (rounds.length === 0) return null;
  return markdown(
    [
      'round',
      'answered 200',
      'receipts stored',
      'delivered (signal in history)',
      'dead',
      'still pending',
      'lost',
      'duplicated',
    ],
    rounds.map(([name, e]) =>
      [name, e.sent, e.stored, e.delivered, e.dead, e.pending, `**${e.lost}**`, `**${e.duplicated}**`].map(String),
    ),
  );
}

/**
 * The failures the run reports, any of which makes `npm run bench` exit non-zero: an event lost, and a mass-disconnect
 * account never attempted or attempted twice (a second Unipile call is a real duplicate). A receipt signalled twice is
 * shown but not a failure: delivery is at least once (a signal whose answer timed out is sent again) and the workflow
 * drops the copy by its receipt id, so it is not applied twice.
 */
export function countedFailures(out: Json): string[] {
  const failures: string[] = [];
  for (const [name, e] of countedRounds(out)) if (e.lost > 0) failures.push(`${name}: ${e.lost} events lost`);
  for (const m of (out.massDisconnect ?? []) as Json[])
    if (m.lost > 0 || m.duplicates > 0)
      failures.push(
        `mass disconnect of ${m.accounts} (cap ${m.cap}): ${m.lost} accounts never attempted, ${m.duplicates} attempted twice`,
      );
  return failures;
}
