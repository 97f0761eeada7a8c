import type { Knex } from 'knex';
import type { AccountView, JournalEntry } from '../workflows/account/contract';

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
  /** BCP 47, canonical (`fr-FR`): the language of the user's emails and pages; null → English. */
  locale: string | null;
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

/** Inserts or updates the account row; fields left null keep what is stored, and an owner is never replaced. */
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
    // The first owner stays: an account owned by one user is never moved to another (claimAccount refuses it).
    user_id: db.raw('coalesce(accounts.user_id, excluded.user_id)'),
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

/** The account belongs to another user: a connection that ends on it links nothing. */
export class AccountOwnedError extends Error {
  constructor(readonly accountId: string) {
    super(`account ${accountId} belongs to another user`);
  }
}

/**
 * The account row for a user who has just connected it: created, or updated when it has no owner or is the user's
 * already. Another user's account is left as it is and AccountOwnedError thrown (the caller's transaction then
 * stores nothing). One statement, so two users finishing at once cannot both win.
 */
export async function claimAccount(db: Knex, s: AccountSnapshot & { userId: string }): Promise<void> {
  const claimed = (await db('accounts')
    .insert({
      account_id: s.accountId,
      workflow_id: s.workflowId,
      account_type: s.provider ?? null,
      user_id: s.userId,
      name: s.name ?? null,
      status: 'PENDING',
      recovery: 'NONE',
      last_update: db.fn.now(),
    })
    .onConflict('account_id')
    .merge({
      account_type: db.raw('coalesce(excluded.account_type, accounts.account_type)'),
      user_id: db.raw('excluded.user_id'),
      name: db.raw('coalesce(excluded.name, accounts.name)'),
    })
    .where(db.raw('accounts.user_id is null or accounts.user_id = excluded.user_id'))
    .returning('account_id')) as unknown[];
  if (claimed.length === 0) throw new AccountOwnedError(s.accountId);
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
