import type { Knex } from 'knex';
import type { AccountView, JournalEntry } from '../workflows/definitions';

export interface AccountRow {
  id: string;
  user_id: string | null;
  account_type: string | null;
  account_id: string;
  name: string | null;
  status: string;
  recovery: string;
  workflow_id: string;
  last_update: Date;
  created_on: Date;
  /** The workflow's view, as it last persisted it. */
  view: AccountView | null;
}

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
}

export interface AccountSnapshot {
  accountId: string;
  workflowId: string;
  provider?: string | null;
  userId?: string | null;
  name?: string | null;
  status?: string;
  recovery?: string;
  view?: AccountView;
}

/** Inserts or updates the account row; fields left null keep what is stored. */
export async function upsertAccount(db: Knex, s: AccountSnapshot): Promise<void> {
  const row = {
    account_id: s.accountId,
    workflow_id: s.workflowId,
    account_type: s.provider ?? null,
    user_id: s.userId ?? null,
    name: s.name ?? null,
    status: s.status ?? 'PENDING',
    recovery: s.recovery ?? 'NONE',
    last_update: db.fn.now(),
  };
  const merge: Record<string, unknown> = {
    account_type: db.raw('coalesce(excluded.account_type, accounts.account_type)'),
    user_id: db.raw('coalesce(excluded.user_id, accounts.user_id)'),
    name: db.raw('coalesce(excluded.name, accounts.name)'),
  };
  if (s.status) Object.assign(merge, { status: s.status, recovery: s.recovery ?? 'NONE', last_update: db.fn.now() });
  if (s.view) {
    const view = JSON.stringify(s.view);
    Object.assign(row, { view });
    Object.assign(merge, { view });
  }
  await db('accounts').insert(row).onConflict('account_id').merge(merge);
}

export async function appendAccountEvents(db: Knex, accountId: string, entries: JournalEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((e) => ({
    account_id: accountId,
    seq: e.seq,
    type: e.type,
    data: JSON.stringify(e.data),
    occurred_at: e.at,
  }));
  // A retried activity writes the same seq again: ignored.
  await db('account_events').insert(rows).onConflict(['account_id', 'seq']).ignore();
}

export async function appendApiEvent(db: Knex, accountId: string, type: string, data: object): Promise<void> {
  await db('account_events').insert({
    account_id: accountId,
    type,
    data: JSON.stringify(data),
    occurred_at: db.fn.now(),
  });
}

export async function findAccount(db: Knex, accountId: string): Promise<AccountRow | undefined> {
  return db<AccountRow>('accounts').where({ account_id: accountId }).first();
}

export async function findUser(db: Knex, userId: string): Promise<UserRow | undefined> {
  return db<UserRow>('users').where({ id: userId }).first();
}
