// Compares Unipile's account list with ours, page by page, on a Temporal Schedule (reconcile-accounts, every
// RECONCILE_INTERVAL), and never destroys what still exists. Every call to Unipile runs on the Unipile
// task queue, so it shares the rate cap with recovery.
//
// "Seen in this run" uses no clock: each page is staged under the run id, and the database compares the complete
// listing with our rows. Every time that matters (a first 404, the grace) is the database's own `now()`.
import {
  ActivityFailure,
  continueAsNew,
  log,
  patched,
  setCurrentDetails,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { UnipileActivities } from '../../activities/unipile';
import { bookkeepingActivities, unipileActivities } from '../activities';
import { BOOKKEEPING, BOOKKEEPING_BOUNDED, overListing, unipileInBackground } from '../activity-presets';
import { type HeldVerdict, type ReconcileConfirmInput, type ReconcileSummary } from './contract';
import { describeHold, holdFor } from './rules';

// Runs recorded before this patch took the clock-based path below (kept, minus its deletions, so they replay).
const NEVER_DESTROYS_PATCH = 'reconcile-never-destroys';

// Past its tries a run ends incomplete (see `incomplete`): nothing more is decided, the next run tries again.
const bookkeeping = bookkeepingActivities(overListing(BOOKKEEPING_BOUNDED));

/** Past their tries, Unipile's calls decide nothing: the run ends incomplete or the account is left as it is. */
const unipileCalls = () => unipileActivities(unipileInBackground());
type UnipileCalls = ReturnType<typeof unipileCalls>;

type ListingPage = Awaited<ReturnType<UnipileActivities['listUnipileAccountsPage']>>;

/** An activity that ran out of retries ends the run as incomplete (nothing more decided), never fails it. */
function incomplete(err: unknown, summary: ReconcileSummary): void {
  if (!(err instanceof ActivityFailure)) throw err;
  summary.incomplete = true;
  log.warn('reconciliation incomplete; the next run tries again', { error: err.cause?.message ?? err.message });
}

/**
 * The accounts Unipile confirms gone, of those missing from a listing: at most RECONCILE_MAX_DELETIONS, asked one at a
 * time so recovery calls interleave under the cap.
 */
async function confirmGone(unipile: UnipileCalls, missing: string[], runId: string): Promise<string[]> {
  const gone: string[] = [];
  for (const accountId of missing) {
    setCurrentDetails(`asking Unipile about ${missing.length} account(s) missing from the listing`);
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
  return gone;
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
      const page: ListingPage = await unipile.listUnipileAccountsPage({ cursor });
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
      const gone = await confirmGone(unipile, applied.missing, runId);
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
/** The shortest wait between Unipile's two answers (RECONCILE_GRACE may be 0): two answers, never one. */
const MIN_SECOND_ASK_MS = 1_000;

/**
 * The confirm workflow's own database steps retry without a maximum: a database outage is waited out, so a
 * confirmation never stops half-way with its hold taken.
 */
const confirmBookkeeping = bookkeepingActivities(overListing(BOOKKEEPING));

/**
 * Unipile's word on each held account, one at a time: gone (second 404), asked again after `waitMs` (first 404), or
 * kept (alive, or no answer for now).
 */
async function askAboutHeld(
  unipile: UnipileCalls,
  accountIds: string[],
  holdId: number,
): Promise<{ gone: string[]; again: string[]; waitMs: number; keep: number }> {
  const gone: string[] = [];
  const again: string[] = [];
  let waitMs = 0;
  let keep = 0;
  for (const accountId of accountIds) {
    let answer: HeldVerdict = { verdict: 'unknown', waitMs: 0 };
    try {
      answer = await unipile.checkHeldAccount.executeWithOptions({ summary: `is ${accountId} gone?` }, [
        { accountId, holdId },
      ]);
    } catch (err) {
      // Unipile unreachable for this one: nothing is decided about it (its first 404, if any, stays).
      if (!(err instanceof ActivityFailure)) throw err;
    }
    if (answer.verdict === 'gone') gone.push(accountId);
    else if (answer.verdict === 'first_404') {
      again.push(accountId);
      waitMs = Math.max(waitMs, answer.waitMs);
    } else keep++;
  }
  return { gone, again, waitMs, keep };
}

/**
 * Applies a hold an operator confirmed (POST /api/reconcile/confirm) under the rule a run follows: a held account is
 * deleted only on Unipile's second 404, at least RECONCILE_GRACE after its first. Accounts answering a first 404
 * are asked again after a durable timer; a 200 meanwhile (or a listing, which clears the first 404) keeps them; an
 * account Unipile cannot answer for now is left to the next runs.
 */
export async function reconcileConfirmWorkflow(
  input: ReconcileConfirmInput,
): Promise<{ deleted: number; kept: number }> {
  const unipile = unipileCalls();
  const { holdId } = input;
  const offset = input.offset ?? 0;
  let deleted = input.deleted ?? 0;
  let kept = input.kept ?? 0;
  try {
    const slice = await confirmBookkeeping.claimHold({ holdId, offset, limit: CONFIRM_BATCH });
    if (!slice) {
      setCurrentDetails(`hold ${holdId} is no longer held: nothing to apply`);
      return { deleted, kept };
    }
    const range = `accounts ${offset + 1}–${offset + slice.accountIds.length} of ${slice.total}`;
    let pending = slice.accountIds;
    while (pending.length > 0) {
      setCurrentDetails(`applying hold ${holdId} (${range}): asking Unipile about ${pending.length} account(s)`);
      const { gone, again, waitMs, keep } = await askAboutHeld(unipile, pending, holdId);
      kept += keep;
      deleted += await confirmBookkeeping.deleteGoneAccounts({ accountIds: gone });
      pending = again;
      if (pending.length > 0) {
        const wait = Math.max(waitMs, MIN_SECOND_ASK_MS);
        setCurrentDetails(
          `applying hold ${holdId} (${range}): waiting until ${new Date(Date.now() + wait).toISOString()} ` +
            `(RECONCILE_GRACE after their first 404) to ask Unipile again about ${pending.length} account(s) that ` +
            `answered 404 once; none is deleted on one answer. So far ${deleted} deleted, ${kept} kept`,
        );
        await sleep(wait);
      }
    }
    if (offset + slice.accountIds.length < slice.total) {
      await continueAsNew<typeof reconcileConfirmWorkflow>({ ...input, offset: offset + CONFIRM_BATCH, deleted, kept });
    }
    await confirmBookkeeping.finishHold({ holdId, deleted, kept });
  } catch (err) {
    // Bookkeeping retries without a maximum: only a non-retryable failure gets here; the hold stays confirmed.
    if (!(err instanceof ActivityFailure)) throw err;
    setCurrentDetails(`hold ${holdId}: stopped (a database step failed for good); confirm again to go on`);
    return { deleted, kept };
  }
  setCurrentDetails(`hold ${holdId} applied: ${deleted} deleted, ${kept} kept`);
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
      const page: ListingPage = await unipile.listUnipileAccountsPage({ cursor });
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
