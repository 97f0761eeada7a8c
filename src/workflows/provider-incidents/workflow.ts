// The provider-incidents singleton: every PROVIDER_INCIDENT_CHECK_INTERVAL it has the providers' counts judged in
// PostgreSQL (incidents open and close there), wakes the accounts whose emails a closed incident held, and shows
// operators where things stand (current details in words, the ProviderIncidents search attribute). Operators open
// and close incidents through its update, serialised with the checks. No state of its own beyond counters: the
// database holds the incidents, so a new run (continue-as-new, a restart) picks up exactly where the last stopped.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import { bookkeepingActivities } from '../activities';
import { BOOKKEEPING, BOOKKEEPING_PAGED } from '../activity-presets';
import {
  PROVIDER_NAME,
  ProviderIncidentsKey,
  providerIncidentActionUpdate,
  type ProviderEvaluation,
  type ProviderIncidentsInput,
  type ProviderState,
} from './contract';
import { describeProviders } from './rules';

// Retried until the database answers: the singleton must never stop.
const bookkeeping = bookkeepingActivities(BOOKKEEPING);
const paged = bookkeepingActivities(BOOKKEEPING_PAGED);

/**
 * Checks per run: under 10 history events each (workflow task, activity, timer), so a run stays far below the history
 * limits; then it continues as new.
 */
const CHECKS_PER_RUN = 300;
/** Until the first check says what the worker's PROVIDER_INCIDENT_CHECK_INTERVAL is. */
const FALLBACK_INTERVAL_MS = 15_000;

export async function providerIncidentsWorkflow(input: ProviderIncidentsInput = {}): Promise<void> {
  const mutex = new Mutex();
  let shown: string[] | null = null;
  let intervalMs = FALLBACK_INTERVAL_MS;
  /** An operator changed an incident: check (and wake held accounts) without waiting for the interval. */
  let checkNow = false;

  function show(at: string, providers: ProviderState[]): void {
    setCurrentDetails(describeProviders(providers, at));
    const inIncident = providers.filter((p) => p.incident).map((p) => p.provider);
    if (!shown || shown.join() !== inIncident.join()) {
      upsertSearchAttributes({ [ProviderIncidentsKey.name]: inIncident });
      shown = inIncident;
    }
  }

  async function releaseHeld(count: number): Promise<void> {
    if (count === 0) return;
    for (let more = true; more;) more = (await paged.releaseProviderHolds()).more;
  }

  async function evaluate(): Promise<ProviderEvaluation> {
    const evaluation = await bookkeeping.evaluateProviderIncidents();
    intervalMs = evaluation.checkIntervalMs;
    show(evaluation.at, evaluation.providers);
    return evaluation;
  }

  async function check(): Promise<void> {
    const evaluation = await evaluate();
    await releaseHeld(evaluation.holdsToRelease);
  }

  setHandler(
    providerIncidentActionUpdate,
    (action) =>
      mutex.runExclusive(async () => {
        const result = await bookkeeping.applyProviderIncidentAction(action);
        // What operators see follows at once; the held accounts of a close are woken by the loop right after this
        // answers (thousands of signals would outlast the caller's wait).
        await evaluate();
        if (result.outcome === 'done' && result.changed) checkNow = true;
        return result;
      }),
    {
      validator: (action) => {
        if (!PROVIDER_NAME.test(action.provider)) throw new Error('provider must match ^[A-Z_]{2,40}$');
        if (action.action !== 'open' && action.action !== 'close') throw new Error("action must be 'open' or 'close'");
      },
    },
  );

  let evaluations = input.evaluations ?? 0;
  for (let i = 0; i < CHECKS_PER_RUN && !workflowInfo().continueAsNewSuggested; i++) {
    checkNow = false;
    await mutex.runExclusive(check);
    evaluations++;
    await condition(() => checkNow, intervalMs);
  }
  await condition(allHandlersFinished);
  await continueAsNew<typeof providerIncidentsWorkflow>({ evaluations });
}
