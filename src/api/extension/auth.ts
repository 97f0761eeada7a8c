import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { Knex } from 'knex';
import { HttpError } from '../http/errors';

/** Extension tokens are stored as SHA-256 hashes: shown once, never readable again. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/**
 * Tokens still accepted: not revoked and younger than `ttlMs` (EXTENSION_TOKEN_TTL). The lifetime is counted from
 * `created_at` with the current setting, so shortening it retires older tokens at once.
 */
export function activeExtensionTokens(db: Knex, ttlMs: number): Knex.QueryBuilder {
  return db('extension_tokens')
    .whereNull('revoked_at')
    .where('created_at', '>', db.raw(`now() - (? * interval '1 millisecond')`, [ttlMs]));
}

/** The user an extension token belongs to; 401 when missing, unknown, expired or revoked. */
export async function extensionUserOf(db: Knex, req: Request, ttlMs: number): Promise<string> {
  const header = req.header('authorization') ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  if (!token) throw new HttpError(401, 'unauthorized', 'Missing extension token');
  const row = (await activeExtensionTokens(db, ttlMs)
    .where({ token_hash: hashToken(token) })
    .first('id', 'user_id')) as { id: string; user_id: string } | undefined;
  if (!row) throw new HttpError(401, 'unauthorized', 'Invalid, expired or revoked extension token');
  await db('extension_tokens').where({ id: row.id }).update({ last_used_at: db.fn.now() });
  return row.user_id;
}
