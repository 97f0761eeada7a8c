// Compares Unipile's account list with ours, page by page, on a Temporal Schedule (reconcile-accounts, every
// RECONCILE_INTERVAL). Listing runs on the Unipile task queue, so it shares the rate cap with recovery.
import { ActivityFailure, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ReconcileActivities } from '../activities';
import { unipileTaskQueue, type ReconcileSummary } from './definitions';

const bookkeeping = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumInterval: '1m', maximumAttempts: 10 },
});

export async function reconcileAccountsWorkflow(): Promise<ReconcileSummary> {
  const unipile = proxyActivities<ReconcileActivities>({
    taskQueue: unipileTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
  });
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
    if (!(err instanceof ActivityFailure)) throw err;
    // Unipile or the database unreachable for longer than the retries: this run ends without marking anything
    // gone (the listing was not complete); the schedule runs again at the next interval.
    summary.incomplete = true;
    log.warn('reconciliation incomplete; the next run tries again', { error: err.cause?.message ?? err.message });
  }
  log.info('reconciliation finished', { ...summary });
  return summary;
}
