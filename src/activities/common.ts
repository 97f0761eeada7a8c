// Helpers both task queues' connection activities use; no activity lives here.
import type { Knex } from 'knex';
import { connectionById, type ConnectionRow } from '../connections/store';
import type { UnipileApi } from '../unipile/unipile-api';

/** Unipile's type and name of a newly connected account (nulls where Unipile did not say). */
export interface ConnectedAccount {
  provider: string | null;
  name: string | null;
}

export async function describeAccount(unipile: UnipileApi, accountId: string): Promise<ConnectedAccount> {
  const account = await unipile.getAccount(accountId);
  return { provider: account?.type ?? null, name: account?.name?.slice(0, 256) ?? null };
}

export async function connectionRow(db: Knex, id: string): Promise<ConnectionRow> {
  const row = await connectionById(db, id);
  if (!row) throw new Error(`no connection ${id}`);
  return row;
}
