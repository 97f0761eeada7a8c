// Compares Unipile's account list with ours, page by page, on a Temporal Schedule (reconcile-accounts, every
// RECONCILE_INTERVAL), and never destroys what still exists (SPEC §11.1). Every call to Unipile runs on the Unipile
// task queue, so it shares the rate cap with recovery.
//
// "Seen in this run" uses no clock: each page is staged under the run id, and the database compares the complete
// listing with our rows. Every time that matters (a first 404, the grace) is the database's own `now()`.
import {
  ActivityFailure,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { ReconcileActivities } from '../activities';
import { unipileTaskQueue, type ReconcileConfirmInput, type ReconcileSummary } from './definitions';
import { describeHold, holdFor } from './reconcile-rules';

// Runs recorded before this patch took the clock-based path below (kept, minus its deletions, so they replay).
const NEVER_DESTROYS_PATCH = 'reconcile-never-destroys';

const bookkeeping = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumInterval: '1m', maximumAttempts: 10 },
});

function unipileCalls() {
  return proxyActivities<ReconcileActivities>({
    taskQueue: unipileTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
  });
}

/** An activity that ran out of retries ends the run as incomplete (nothing more decided), never fails it. */
function incomplete(err: unknown, summary: ReconcileSummary): void {
  if (!(err instanceof ActivityFailure)) throw err;
  summary.incomplete = true;
  log.warn('reconciliation incomplete; the next run tries again', { error: err.cause?.message ?? err.message });
}

export async function reconcileAccountsWorkflow(): Promise<ReconcileSummary> {
  if (!patched(NEVER_DESTROYS_PATCH)) return legacyRun();
  const unipile = unipileCalls();
  const runId = workflowInfo().runId;
  const summary: ReconcileSummary = {
    seen: 0,
    differing: 0,
    unknown: 0,
    gone: 0,
    incomplete: false,
    missing: 0,
    restored: 0,
    held: null,
  };
  let details = '';
  try {
    setCurrentDetails('listing Unipile accounts');
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<ReconcileActivities['listUnipileAccountsPage']>> =
        await unipile.listUnipileAccountsPage({ cursor });
      await bookkeeping.stageListedAccounts({ runId, accounts: page.accounts });
      summary.seen += page.accounts.length;
      cursor = page.cursor;
    } while (cursor);

    const facts = await bookkeeping.summarizeListing({ runId });
    summary.missing = facts.missing;
    const hold = holdFor(facts);
    const applied = await bookkeeping.applyListing({ runId, hold, maxDeletions: facts.maxDeletions });
    Object.assign(summary, { differing: applied.differing, unknown: applied.unknown, restored: applied.restored });
    if (applied.held) {
      summary.held = applied.held;
      details = describeHold(applied.held, facts.maxDeletions);
      log.warn(details);
    } else {
      // At most RECONCILE_MAX_DELETIONS accounts, asked one at a time so recovery calls interleave under the cap.
      const gone: string[] = [];
      for (const accountId of applied.missing) {
        setCurrentDetails(`asking Unipile about ${applied.missing.length} account(s) missing from the listing`);
        try {
          const verdict = await unipile.confirmAccountGone.executeWithOptions({ summary: `is ${accountId} gone?` }, [
            { accountId, runId },
          ]);
          if (verdict === 'gone') gone.push(accountId);
        } catch (err) {
          // Unipile unreachable for this one: nothing is decided about it in this run.
          if (!(err instanceof ActivityFailure)) throw err;
        }
      }
      summary.gone = await bookkeeping.deleteGoneAccounts({ accountIds: gone });
    }
  } catch (err) {
    incomplete(err, summary);
  }
  try {
    await bookkeeping.endReconcileRun({ runId });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
  }
  setCurrentDetails(
    details ||
      (summary.incomplete
        ? 'incomplete: nothing deleted; the next run tries again'
        : `listed ${summary.seen}; ${summary.missing} missing, ${summary.gone} confirmed gone by Unipile and deleted`),
  );
  log.info('reconciliation finished', { ...summary, held: summary.held?.reason ?? null });
  return summary;
}

/** Accounts asked of Unipile per run of the confirm workflow, so its history stays small whatever the hold. */
const CONFIRM_BATCH = 200;

/**
 * Applies a hold an operator confirmed (POST /api/reconcile/confirm): each held account that Unipile still answers
 * 404 for is deleted; one it knows is kept; one it cannot answer now is left to the next runs.
 */
export async function reconcileConfirmWorkflow(
  input: ReconcileConfirmInput,
): Promise<{ deleted: number; kept: number }> {
  const unipile = unipileCalls();
  const offset = input.offset ?? 0;
  let deleted = input.deleted ?? 0;
  let kept = input.kept ?? 0;
  try {
    const slice = await bookkeeping.claimHold({ holdId: input.holdId, offset, limit: CONFIRM_BATCH });
    if (!slice) {
      setCurrentDetails(`hold ${input.holdId} is no longer held: nothing to apply`);
      return { deleted, kept };
    }
    setCurrentDetails(
      `applying hold ${input.holdId}: accounts ${offset + 1}–${offset + slice.accountIds.length} of ${slice.total}`,
    );
    const gone: string[] = [];
    for (const accountId of slice.accountIds) {
      try {
        const verdict = await unipile.checkHeldAccount.executeWithOptions({ summary: `is ${accountId} gone?` }, [
          { accountId },
        ]);
        if (verdict === 'gone') gone.push(accountId);
        else kept++;
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        kept++;
      }
    }
    deleted += await bookkeeping.deleteGoneAccounts({ accountIds: gone });
    if (offset + slice.accountIds.length < slice.total) {
      await continueAsNew<typeof reconcileConfirmWorkflow>({ ...input, offset: offset + CONFIRM_BATCH, deleted, kept });
    }
    await bookkeeping.finishHold({ holdId: input.holdId, deleted, kept });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    setCurrentDetails(`hold ${input.holdId}: stopped (database unreachable); confirm again to go on`);
    return { deleted, kept };
  }
  setCurrentDetails(`hold ${input.holdId} applied: ${deleted} deleted, ${kept} kept`);
  return { deleted, kept };
}

/** The path runs started before NEVER_DESTROYS_PATCH replay; its last activity no longer deletes. */
async function legacyRun(): Promise<ReconcileSummary> {
  const unipile = unipileCalls();
  // Read (as before) only so the replayed commands match; nothing compares against it any more.
  const runStartedAt = new Date().toISOString();
  const summary: ReconcileSummary = { seen: 0, differing: 0, unknown: 0, gone: 0, incomplete: false };
  let cursor: string | null = null;
  try {
    do {
      const page: Awaited<ReturnType<ReconcileActivities['listUnipileAccountsPage']>> =
        await unipile.listUnipileAccountsPage({ cursor });
      const found = await bookkeeping.reconcileAccountsPage({ accounts: page.accounts });
      summary.seen += page.accounts.length;
      summary.differing += found.differing;
      summary.unknown += found.unknown;
      cursor = page.cursor;
    } while (cursor);
    summary.gone = await bookkeeping.reconcileGoneAccounts({ runStartedAt });
  } catch (err) {
    incomplete(err, summary);
  }
  log.info('reconciliation finished', { ...summary });
  return summary;
}
