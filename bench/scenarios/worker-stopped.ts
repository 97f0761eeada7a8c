// The pipeline alone: the worker stopped, so the server does nothing but take the forwarded signals (as for the
// Temporal ceiling); then the time the restarted worker takes to apply that backlog.
import { log, round } from '../harness';
import { countEvents, deliveredRate } from '../ledger';
import { allApplied, ingestRound } from './ingestion';
import type { Scenario } from './scenario';

export const workerStopped: Scenario = {
  name: 'worker-stopped',
  needs: ['ingestion'],
  stack: true,
  async run(bench) {
    const ceiling = bench.shared.temporalCeiling!;
    log(`ingestion with the worker stopped: ${bench.settings.ingest.webhooks} webhooks`);
    await bench.stopWorker();
    const paused = await ingestRound(bench, 'pau');
    const catchUpStart = Date.now();
    bench.startWorker();
    const everyApplied = await allApplied(bench, paused.ids, 'the backlog applied');
    const backlogSeconds = (Date.now() - catchUpStart) / 1000;
    const events = await countEvents(bench, paused.ids, paused.answered);
    const pausedPerSecond = deliveredRate(events, paused.deliveredSeconds);
    bench.out.ingestionWorkerStopped = {
      answered: paused.answered,
      deliveredPerSecond: pausedPerSecond,
      ratioToTemporalCeiling: round(pausedPerSecond / ceiling.perSecond, 2),
      backlogAppliedAfterWorkerStartSeconds: everyApplied ? round(backlogSeconds, 1) : null,
      events,
    };
    log(`worker stopped, events: ${JSON.stringify(events)}`);
  },
};
