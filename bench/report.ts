// The Markdown table of a run: one row per figure, each beside the ceiling that limits it. Sections whose
// scenario did not run (--only) are left out.
import type { LoadResult } from './harness';

// The figures are plain JSON the scenarios wrote themselves; read back loosely to lay out the table.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
type Row = string[];

const latency = (r: LoadResult | Json) => `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`;

function ingestionRows(i: Json): Row[] {
  return [
    ['HTTP ceiling (bare Express JSON)', `${i.httpCeiling.perSecond}/s`, latency(i.httpCeiling)],
    ['Temporal ceiling (raw signalWithStart)', `${i.temporalCeiling.perSecond}/s`, latency(i.temporalCeiling)],
    [`Webhooks answered (${i.webhooks} for ${i.accounts} accounts)`, `${i.answered.perSecond}/s`, latency(i.answered)],
    [
      'Every event in its workflow',
      `${i.deliveredPerSecond}/s`,
      `${i.everyEventInItsWorkflowSeconds} s; **${i.ratioToTemporalCeiling}** of the Temporal ceiling`,
    ],
    ['Every event applied (account rows)', '', `${i.everyEventAppliedSeconds} s`],
  ];
}

function atRateRows(w: LoadResult, rate: number): Row[] {
  return [[`Webhooks at ${rate}/s (open loop)`, `${w.perSecond}/s`, `p50 ${w.p50Ms} ms, p99 **${w.p99Ms} ms**`]];
}

function workerStoppedRows(p: Json): Row[] {
  return [
    [
      'Every event in its workflow, worker stopped',
      `${p.deliveredPerSecond}/s`,
      `**${p.ratioToTemporalCeiling}** of the Temporal ceiling; backlog applied ${p.backlogAppliedAfterWorkerStartSeconds} s after the worker started`,
    ],
  ];
}

function readsRows(r: Record<string, LoadResult>, rate: number): Row[] {
  return [
    ['Backend reads (stored view)', `${r.stored!.perSecond}/s`, latency(r.stored!)],
    [
      `Backend reads at ${rate}/s (open loop)`,
      `${r.storedAtRate!.perSecond}/s`,
      `p50 ${r.storedAtRate!.p50Ms} ms, p99 **${r.storedAtRate!.p99Ms} ms**`,
    ],
    ['Backend reads (?live=true, workflow query)', `${r.live!.perSecond}/s`, latency(r.live!)],
  ];
}

function idleRows(idle: Json): Row[] {
  return [
    [
      `Idle accounts started (${idle.accounts})`,
      `${idle.startedPerSecond}/s`,
      `${idle.allStartedSeconds} s; worker RSS ${idle.workerRssMb} MB (cache ${idle.cachedWorkflows})`,
    ],
    [
      'Signal to an evicted / a cached workflow',
      '',
      `${idle.signalToEvictedWorkflowMs} ms / ${idle.signalToCachedWorkflowMs} ms (post → row updated)`,
    ],
  ];
}

function massRows(runs: Json[]): Row[] {
  return runs.map((m) => [
    `Mass disconnect, ${m.accounts} accounts, cap ${m.cap}`,
    `${m.attemptsPerSecond} attempts/s`,
    `${m.ratioToCap === null ? 'uncapped' : `${m.ratioToCap} of the cap`}; p10–p90 of first attempts ${m.steadyAttemptsPerSecond}/s${m.steadyRatioToCap === null ? '' : ` (${m.steadyRatioToCap} of the cap)`}, busiest 5 s ${m.busiest5sPerSecond}/s; all first attempts in ${m.everyFirstAttemptSeconds} s (posting took ${m.postedSeconds} s); lost ${m.lost}, duplicates ${m.duplicates}`,
  ]);
}

function costRows(cost: Json): Row[] {
  return [
    [
      'History events per idle account-day',
      String(cost.historyEventsPerIdleAccountDay),
      `${cost.idleHistoryEventsWatched.added} added in ${cost.idleHistoryEventsWatched.seconds} s of watching`,
    ],
    [
      'History events per incident',
      String(cost.historyEventsPerIncidentRestartSucceeds),
      `restart succeeds; full escalation (5 attempts, email, 2 reminders): ${cost.historyEventsFullEscalation}`,
    ],
    ['Longest history sampled', String(cost.longestHistorySampled), `continue-as-new: ${cost.continueAsNewBound}`],
  ];
}

export function table(out: Json, rate: number): string {
  const rows: Row[] = [
    ...(out.ingestion ? ingestionRows(out.ingestion) : []),
    ...(out.webhooksAtRate ? atRateRows(out.webhooksAtRate, rate) : []),
    ...(out.ingestionWorkerStopped ? workerStoppedRows(out.ingestionWorkerStopped) : []),
    ...(out.reads ? readsRows(out.reads, rate) : []),
    ...(out.idle ? idleRows(out.idle) : []),
    ...(out.massDisconnect ? massRows(out.massDisconnect) : []),
    ...(out.cost ? costRows(out.cost) : []),
    ...(out.stateMachineEventsPerSecond !== undefined
      ? [['State machine (pure reducer)', `${out.stateMachineEventsPerSecond}/s`, '']]
      : []),
  ];
  return ['| measure | rate | detail |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
