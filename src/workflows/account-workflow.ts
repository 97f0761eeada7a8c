// One long-lived workflow per connected Unipile account. Signals feed an inbox; the loop applies them with the
// pure state machine, persists what changed through activities, and sleeps on durable timers until the next
// attempt or email is due or a new signal arrives.
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { AccountActivities } from '../activities';
import {
  accountLinkedSignal,
  AccountProviderKey,
  AccountRecoveryKey,
  AccountStatusKey,
  AccountUserIdKey,
  getAccountStateQuery,
  statusEventSignal,
  unipileTaskQueue,
  type AccountState,
  type AccountWorkflowInput,
  type AttemptRecord,
  type Inbound,
} from './definitions';
import {
  applyAttempt,
  applyEmail,
  applyInbound,
  describe,
  initialState,
  nextStep,
  toView,
  type Step,
} from './account-state';

const { recordAccountState } = proxyActivities<AccountActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

const { sendAccountEmail } = proxyActivities<AccountActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '5m', maximumAttempts: 20 },
});

/** Ends the run well before the history limits; the server's suggestion is the main trigger. */
const MAX_HISTORY_EVENTS = 2000;

export async function accountWorkflow(input: AccountWorkflowInput): Promise<void> {
  const { policy } = input;
  // One recovery attempt retries transient Unipile failures (network, 5xx, 429) a few times with backoff; the
  // hourly business retries are workflow timers, not this policy.
  const { restartAccount } = proxyActivities<AccountActivities>({
    taskQueue: unipileTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 4 },
  });
  let state: AccountState = input.state ?? initialState(input);
  const inbox: Inbound[] = [...(input.pending ?? [])];
  const applied = { status: '', recovery: '', provider: '', userId: '' };

  setHandler(statusEventSignal, (event) => void inbox.push({ type: 'status', event }));
  setHandler(accountLinkedSignal, (link) => void inbox.push({ type: 'linked', link }));
  setHandler(getAccountStateQuery, () => toView(state, policy, Date.now()));

  async function persist(): Promise<void> {
    const entries = state.journal;
    if (entries.length > 0) {
      await recordAccountState({
        accountId: state.accountId,
        workflowId: workflowInfo().workflowId,
        provider: state.provider,
        userId: state.userId,
        status: state.status,
        recovery: state.recovery,
        entries,
      });
      state = { ...state, journal: state.journal.slice(entries.length) };
    }
    updateSearchAttributes();
    setCurrentDetails(describe(state, policy, Date.now()));
  }

  function updateSearchAttributes(): void {
    // Each upsert is a history event: only send what changed.
    const updates: SearchAttributeUpdatePair[] = [];
    if (applied.status !== state.status) updates.push({ key: AccountStatusKey, value: state.status });
    if (applied.recovery !== state.recovery) updates.push({ key: AccountRecoveryKey, value: state.recovery });
    if (state.provider && applied.provider !== state.provider) {
      updates.push({ key: AccountProviderKey, value: state.provider });
    }
    if (state.userId && applied.userId !== state.userId) updates.push({ key: AccountUserIdKey, value: state.userId });
    if (updates.length === 0) return;
    upsertSearchAttributes(updates);
    Object.assign(applied, {
      status: state.status,
      recovery: state.recovery,
      provider: state.provider ?? '',
      userId: state.userId ?? '',
    });
  }

  async function run(step: Exclude<Step, { type: 'complete' | 'idle' | 'wait' }>): Promise<void> {
    const incident = state.incident;
    if (!incident) return;
    if (step.type === 'attempt') {
      const label = `${step.action} attempt ${step.n}/${step.of}`;
      let attempt: AttemptRecord;
      try {
        const result = await restartAccount.executeWithOptions({ summary: label }, [
          { accountId: state.accountId, n: step.n, of: step.of },
        ]);
        attempt = { n: step.n, of: step.of, action: step.action, at: new Date().toISOString(), ...result };
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        // Transient failures outlasted the attempt's own retries: the attempt failed, the schedule goes on.
        const reason = err.cause?.message ?? err.message;
        attempt = { n: step.n, of: step.of, action: step.action, at: new Date().toISOString(), outcome: 'failed' };
        attempt.errorType = 'unavailable';
        attempt.reason = reason;
      }
      log.info('recovery attempt finished', { accountId: state.accountId, n: step.n, outcome: attempt.outcome });
      state = applyAttempt(state, attempt, Date.now());
    } else {
      const summary = step.kind === 'reminder' ? `reminder email ${step.seq}` : 'reconnect_needed email';
      const result = await sendAccountEmail.executeWithOptions({ summary }, [
        { accountId: state.accountId, incidentId: incident.id, kind: step.kind, seq: step.seq },
      ]);
      state = applyEmail(
        state,
        { kind: step.kind, seq: step.seq, at: new Date().toISOString(), ...result },
        Date.now(),
      );
    }
  }

  for (;;) {
    for (const inbound of inbox.splice(0)) state = applyInbound(state, inbound, Date.now());
    await persist();

    const step = nextStep(state, policy, Date.now());
    if (step.type === 'complete') break;
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY_EVENTS) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof accountWorkflow>({ ...input, state, pending: inbox.splice(0) });
    }

    if (step.type === 'idle') {
      await condition(() => inbox.length > 0 || workflowInfo().continueAsNewSuggested);
    } else if (step.type === 'wait') {
      // A new signal (say, the account is OK again) ends the wait early and cancels the timer.
      await condition(() => inbox.length > 0, Math.max(1, step.until - Date.now()), { summary: step.summary });
    } else {
      await run(step);
    }
  }

  await condition(allHandlersFinished);
  log.info('account deleted; workflow completes', { accountId: state.accountId });
}
