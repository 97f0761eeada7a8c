// One long-lived workflow per connected Unipile account. Signals feed an inbox; the loop applies them with the
// pure state machine, persists what changed through activities, and sleeps on durable timers until the next
// attempt or email is due or a new signal arrives.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  metricMeter,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { Mutex } from 'async-mutex';
import { bookkeepingActivities, localBookkeepingActivities, unipileActivities } from '../activities';
import { BOOKKEEPING, email, unipileInBackground } from '../activity-presets';
import {
  accountLinkedSignal,
  AccountProviderKey,
  cookieUpdatedSignal,
  reconnectNowUpdate,
  AccountRecoveryKey,
  AccountStatusKey,
  AccountUserIdKey,
  getAccountStateQuery,
  pauseAccountUpdate,
  providerIncidentClosedSignal,
  resumeAccountUpdate,
  statusEventSignal,
  type AccountState,
  type AccountView,
  type AccountWorkflowFn,
  type AccountWorkflowInput,
  type AttemptRecord,
  type EmailRecord,
  type Inbound,
  type RecoveryPolicy,
} from './contract';
import {
  applyAttempt,
  applyEmail,
  applyEmailFailure,
  applyEmailHold,
  applyInbound,
  applyPause,
  applyResume,
  applyTime,
  clearEmailHold,
  attemptLabel,
  describe,
  initialState,
  manualAttempt,
  nextStep,
  toView,
  type Step,
} from './state';

function fail(message: string): never {
  throw ApplicationFailure.create({ message, nonRetryable: true });
}

// Histories recorded before this patch wrote only the journal, as a regular activity; newer runs write the view
// too, as a local activity (one marker event instead of three activity events and a workflow task round trip).
const PERSIST_VIEW_PATCH = 'persist-view-local';
// Runs recorded before this patch tried every new extension cookie at once and kept every attempt in their state;
// newer runs try one per CONNECT_RETRY_INTERVAL (beyond the first of an incident) and keep the lists bounded.
const COOKIE_BUDGET_PATCH = 'cookie-reconnect-budget';
// Runs recorded before this patch knew no provider incidents (an email is asked about first, and waits EMAIL_SETTLE
// after its incident opens), no restricted or mismatched answers, no pause, and retried in lockstep.
const PROVIDER_AWARE_PATCH = 'provider-aware';

// The account's records never give up: a database outage is waited out, the account stays watched.
const { recordAccountState, checkEmailHold } = bookkeepingActivities(BOOKKEEPING);
// Past a minute of retries inside one workflow task, the SDK backs off on a durable timer.
const local = localBookkeepingActivities(BOOKKEEPING);

/** What backends read of the view, minus next-step times: those only move with journalled transitions. */
function viewKey(view: AccountView): string {
  return JSON.stringify({ ...view, nextAttemptAt: null, nextEmailAt: null });
}

// Counted through the SDK's meter (not emitted on replay), exported with the SDK's own metrics by the worker.
const attemptsCounter = metricMeter.createCounter(
  'unipile_recovery_attempts',
  'attempts',
  'Recovery attempts (restart or cookie reconnect) by action and outcome',
);
const emailsCounter = metricMeter.createCounter('unipile_emails', 'emails', 'Account emails by kind and outcome');

/** Ends the run well before the history limits; the server's suggestion is the main trigger. */
const MAX_HISTORY_EVENTS = 2000;

/** The search attributes last upserted, so that only changes are sent (each upsert is a history event). */
interface AppliedAttributes {
  status: string;
  recovery: string;
  provider: string;
  userId: string;
}

function searchAttributeChanges(applied: AppliedAttributes, state: AccountState): SearchAttributeUpdatePair[] {
  const updates: SearchAttributeUpdatePair[] = [];
  if (applied.status !== state.status) updates.push({ key: AccountStatusKey, value: state.status });
  if (applied.recovery !== state.recovery) updates.push({ key: AccountRecoveryKey, value: state.recovery });
  if (state.provider && applied.provider !== state.provider) {
    updates.push({ key: AccountProviderKey, value: state.provider });
  }
  if (state.userId && applied.userId !== state.userId) updates.push({ key: AccountUserIdKey, value: state.userId });
  return updates;
}

/**
 * Writes the journal's new entries and, when it changed, the view backends read. Returns how many entries were
 * written and the view's key, or null when there was nothing to write.
 */
async function writeChanges(
  state: AccountState,
  effective: RecoveryPolicy,
  persistedView: string,
): Promise<{ entries: number; viewKey: string } | null> {
  const entries = state.journal;
  const withView = patched(PERSIST_VIEW_PATCH);
  const view = toView(state, effective, Date.now());
  const key = withView ? viewKey(view) : '';
  if (entries.length === 0 && key === persistedView) return null;
  const record = {
    accountId: state.accountId,
    workflowId: workflowInfo().workflowId,
    provider: state.provider,
    userId: state.userId,
    status: state.status,
    recovery: state.recovery,
    entries,
  };
  if (withView) await local.recordAccountState({ ...record, view });
  else await recordAccountState(record);
  return { entries: entries.length, viewKey: key };
}

type AttemptStep = Extract<Step, { type: 'attempt' }>;
type EmailStep = Extract<Step, { type: 'email' }>;

/** One recovery attempt at Unipile, as the journal records it; never throws for an activity's failure. */
async function callUnipile(
  unipile: ReturnType<typeof unipileActivities>,
  accountId: string,
  step: AttemptStep,
): Promise<AttemptRecord> {
  const summary = attemptLabel(step);
  const base = { n: step.n, of: step.of, action: step.action, trigger: step.trigger };
  const args = { accountId, n: step.n, of: step.of };
  try {
    const result =
      step.action === 'restart'
        ? await unipile.restartAccount.executeWithOptions({ summary }, [args])
        : await unipile.reconnectLinkedin.executeWithOptions({ summary }, [args]);
    return { ...base, at: new Date().toISOString(), ...result };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    // Transient failures outlasted the attempt's own retries: the attempt failed, the schedule goes on.
    const reason = err.cause?.message ?? err.message;
    return { ...base, at: new Date().toISOString(), outcome: 'failed', errorType: 'unavailable', reason };
  }
}

/** One account email: what was sent, or why the email's own retries ran out. Never throws for that. */
async function sendEmail(
  sendAccountEmail: ReturnType<typeof bookkeepingActivities>['sendAccountEmail'],
  accountId: string,
  incidentId: number,
  step: EmailStep,
): Promise<{ sent: EmailRecord } | { failed: string }> {
  const summary = step.kind === 'reminder' ? `reminder email ${step.seq}` : `${step.kind} email`;
  try {
    const result = await sendAccountEmail.executeWithOptions({ summary }, [
      { accountId, incidentId, kind: step.kind, seq: step.seq },
    ]);
    return { sent: { kind: step.kind, seq: step.seq, at: new Date().toISOString(), ...result } };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    return { failed: err.cause?.message ?? err.message };
  }
}

export const accountWorkflow: AccountWorkflowFn = async function accountWorkflow(
  input: AccountWorkflowInput,
): Promise<void> {
  const { policy } = input;
  // The policy the state machine sees: the configured one, plus the budget once this run has taken the patch.
  // Decided at the start and at the top of each loop, never in a query (which may not call patched()).
  let effective: RecoveryPolicy = policy;
  function takePatches(): void {
    if (!effective.cookieBudget && patched(COOKIE_BUDGET_PATCH)) effective = { ...effective, cookieBudget: true };
    // Taken only once the budget is: the two markers are always recorded in this order.
    if (effective.cookieBudget && !effective.providerAware && patched(PROVIDER_AWARE_PATCH)) {
      effective = { ...effective, providerAware: true };
    }
  }
  takePatches();
  // Past its tries an email is recorded as failed and sent again one retry interval later: never a failed workflow.
  const { sendAccountEmail } = bookkeepingActivities(email(policy));
  // Past its tries a recovery attempt counts as failed and the schedule goes on.
  const unipile = unipileActivities(unipileInBackground(policy.unipileCallTimeoutMs));
  let state: AccountState = input.state ?? initialState(input);
  const inbox: Inbound[] = [...(input.pending ?? [])];
  const applied: AppliedAttributes = { status: '', recovery: '', provider: '', userId: '' };

  setHandler(statusEventSignal, (event) => void inbox.push({ type: 'status', event }));
  setHandler(accountLinkedSignal, (link) => void inbox.push({ type: 'linked', link }));
  setHandler(cookieUpdatedSignal, (cookie) => void inbox.push({ type: 'cookie', cookie }));
  setHandler(providerIncidentClosedSignal, (closed) => void inbox.push({ type: 'provider_closed', closed }));
  setHandler(getAccountStateQuery, () => toView(state, effective, Date.now()));

  let persistedView = '';
  async function persist(): Promise<void> {
    const written = await writeChanges(state, effective, persistedView);
    if (written) {
      persistedView = written.viewKey;
      // A "reconnect now" may have journalled more meanwhile: only what was written leaves the journal.
      state = { ...state, journal: state.journal.slice(written.entries) };
    }
    updateSearchAttributes();
    setCurrentDetails(describe(state, effective, Date.now()));
  }

  function updateSearchAttributes(): void {
    const updates = searchAttributeChanges(applied, state);
    if (updates.length === 0) return;
    upsertSearchAttributes(updates);
    Object.assign(applied, {
      status: state.status,
      recovery: state.recovery,
      provider: state.provider ?? '',
      userId: state.userId ?? '',
    });
  }

  // One attempt or email at a time: the main loop and "reconnect now" take turns, in arrival order; `changed` wakes a
  // waiting loop after a "reconnect now" so it recomputes its next step.
  const recoveryStepMutex = new Mutex();
  let changed = false;

  async function attempt(step: AttemptStep): Promise<AttemptRecord> {
    const record = await callUnipile(unipile, state.accountId, step);
    const label = attemptLabel(step);
    log.info('recovery attempt finished', { accountId: state.accountId, label, outcome: record.outcome });
    attemptsCounter.add(1, { action: record.action, outcome: record.outcome });
    state = applyAttempt(state, record, Date.now(), effective);
    return record;
  }

  async function run(step: AttemptStep | EmailStep): Promise<void> {
    const incident = state.incident;
    if (!incident) return;
    if (step.type === 'attempt') {
      await attempt(step);
      return;
    }
    if (effective.providerAware) {
      // While the provider is in incident the email waits (durably: a timer, or the incident's closing signal).
      const hold = await checkEmailHold({ accountId: state.accountId, provider: state.provider });
      if (hold.held) {
        state = applyEmailHold(
          state,
          { provider: state.provider ?? '', incidentId: hold.incidentId },
          effective,
          Date.now(),
        );
        return;
      }
      state = clearEmailHold(state, Date.now(), 'provider_not_in_incident');
    }
    const email = await sendEmail(sendAccountEmail, state.accountId, incident.id, step);
    if ('sent' in email) {
      emailsCounter.add(1, { kind: step.kind, outcome: email.sent.outcome });
      state = applyEmail(state, email.sent, Date.now());
    } else {
      // The email's own retries ran out (SMTP down for long): the account stays watched and the email is tried
      // again later. An activity outcome never fails this workflow.
      state = applyEmailFailure(state, { kind: step.kind, seq: step.seq, reason: email.failed }, policy, Date.now());
      emailsCounter.add(1, { kind: step.kind, outcome: 'failed' });
    }
  }

  setHandler(
    reconnectNowUpdate,
    () =>
      recoveryStepMutex.runExclusive(async () => {
        const record = await attempt(manualAttempt(state, effective));
        changed = true;
        return record;
      }),
    { validator: () => void (state.completed && fail('the account is deleted')) },
  );

  // Pause and resume change only the state: the loop, woken by `changed`, persists it and recomputes its step.
  const providerAware = () => void (!effective.providerAware && fail('this run predates pausing; retry shortly'));
  setHandler(
    pauseAccountUpdate,
    (request) => {
      state = applyPause(state, request, Date.now());
      changed = true;
      return toView(state, effective, Date.now());
    },
    {
      validator: (request) => {
        if (state.completed) fail('the account is deleted');
        providerAware();
        if (request.until !== null && Number.isNaN(Date.parse(request.until))) fail('until is not a time');
      },
    },
  );
  setHandler(
    resumeAccountUpdate,
    () => {
      state = applyResume(state, Date.now(), 'request');
      changed = true;
      return toView(state, effective, Date.now());
    },
    { validator: () => void (state.completed ? fail('the account is deleted') : providerAware()) },
  );

  for (;;) {
    takePatches();
    for (const inbound of inbox.splice(0)) state = applyInbound(state, inbound, Date.now());
    state = applyTime(state, Date.now());
    changed = false;
    await persist();

    const step = nextStep(state, effective, Date.now());
    if (step.type === 'complete') break;
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof accountWorkflow>({ ...input, state, pending: inbox.splice(0) });
    }

    if (step.type === 'idle') {
      await condition(() => inbox.length > 0 || changed || workflowInfo().continueAsNewSuggested);
    } else if (step.type === 'wait') {
      // A new signal (say, the account is OK again) ends the wait early and cancels the timer.
      await condition(() => inbox.length > 0 || changed, Math.max(1, step.until - Date.now()), {
        summary: step.summary,
      });
    } else {
      await recoveryStepMutex.runExclusive(async () => {
        // The step may be stale after waiting for a "reconnect now": recompute it.
        const current = nextStep(state, effective, Date.now());
        if (current.type === 'attempt' || current.type === 'email') await run(current);
      });
    }
  }

  await condition(allHandlersFinished);
  log.info('account deleted; workflow completes', { accountId: state.accountId });
};
