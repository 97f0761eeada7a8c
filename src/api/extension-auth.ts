import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { Knex } from 'knex';
import { HttpError } from './http-errors';

/** Extension tokens are stored as SHA-256 hashes: shown once, never readable again. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The user an extension token belongs to; 401 when missing, unknown or revoked. */
export async function extensionUserOf(db: Knex, req: Request): Promise<string> {
  const header = req.header('authorization') ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  if (!token) throw new HttpError(401, 'unauthorized', 'Missing extension token');
  const row = await db('extension_tokens')
    .where({ token_hash: hashToken(token) })
    .whereNull('revoked_at')
    .first();
  if (!row) throw new HttpError(401, 'unauthorized', 'Invalid or revoked extension token');
  await db('extension_tokens').where({ id: row.id }).update({ last_used_at: db.fn.now() });
  return row.user_id as string;
}
