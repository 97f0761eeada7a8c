import { appendAccountEvents, upsertAccount } from '../../accounts/repository';
import { enqueueBackendEvents, eventsFromJournal } from '../../backend-events/outbox';
import type { AccountView, JournalEntry } from '../../workflows/account/contract';
import type { ActivityDeps } from '../deps';

export function createAccountBookkeepingActivities(deps: Pick<ActivityDeps, 'db' | 'backendEvents'>) {
  const { db } = deps;
  return {
    /**
     * Writes the account row (with the workflow's view, which backend reads answer from) and appends the
     * workflow's new journal entries to the event history.
     */
    async recordAccountState(input: {
      accountId: string;
      workflowId: string;
      provider: string | null;
      userId: string | null;
      status: string;
      recovery: string;
      entries: JournalEntry[];
      view?: AccountView;
    }): Promise<void> {
      if (input.entries.length === 0) return upsertAccount(db, input);
      await db.transaction(async (trx) => {
        // The backend hears of a recovery change: read what it was, under the row lock the upsert takes anyway.
        const previous = deps.backendEvents
          ? ((await trx('accounts').where({ account_id: input.accountId }).forUpdate().first('recovery')) as
              { recovery: string } | undefined)
          : undefined;
        await upsertAccount(trx, input);
        await appendAccountEvents(trx, input.accountId, input.entries);
        if (deps.backendEvents) {
          const account = { ...input, userId: input.userId ?? null, provider: input.provider ?? null };
          await enqueueBackendEvents(trx, eventsFromJournal(account, input.entries, previous?.recovery ?? null));
        }
      });
    },
  };
}
