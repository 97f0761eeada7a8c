// Extension tokens are made and revoked by the backend for its users; only their hashes are stored.
import { randomBytes } from 'node:crypto';
import { activeExtensionTokens, hashToken } from '../extension/auth';
import { HttpError } from '../http/errors';
import { defineRoute, type Route } from '../http/route';
import { revokedAnswer, tokenAnswer, tokenParams, tokensAnswer, userParams } from './schemas';

const createToken = defineRoute({
  method: 'post',
  path: '/api/users/:userId/extension-token',
  audience: 'backend',
  auth: 'backendToken',
  summary: 'A token for the browser extension (shown once)',
  params: userParams,
  responses: { 201: tokenAnswer },
  errors: [],
  async handler({ params: { userId } }, { deps: { db, config } }) {
    const token = `ext_${randomBytes(24).toString('base64url')}`;
    const [row] = (await db('extension_tokens')
      .insert({ user_id: userId, token_hash: hashToken(token) })
      .returning(['id', 'created_at'])) as { id: string; created_at: Date }[];
    // The token is shown once; only its hash is stored.
    const expiresAt = new Date(row!.created_at.getTime() + config.EXTENSION_TOKEN_TTL);
    return { status: 201, body: { token, tokenId: String(row!.id), userId, expiresAt } };
  },
});

// The user's tokens still accepted (never the token itself): so the backend can show and prune them.
const listTokens = defineRoute({
  method: 'get',
  path: '/api/users/:userId/extension-tokens',
  audience: 'backend',
  auth: 'backendToken',
  summary: "The user's extension tokens still accepted: id, created, last used, expiry (never the token)",
  params: userParams,
  responses: { 200: tokensAnswer },
  errors: [],
  async handler({ params: { userId } }, { deps: { db, config } }) {
    const ttl = config.EXTENSION_TOKEN_TTL;
    const rows = (await activeExtensionTokens(db, ttl)
      .where({ user_id: userId })
      .orderBy('id', 'desc')
      .limit(500)
      .select('id', 'created_at', 'last_used_at')) as { id: string; created_at: Date; last_used_at: Date | null }[];
    const items = rows.map((r) => ({
      tokenId: String(r.id),
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      expiresAt: new Date(r.created_at.getTime() + ttl),
    }));
    return { status: 200, body: { items } };
  },
});

// Every token of the user at once (a lost laptop, a user leaving): each gets 401 from the next request on.
const revokeAll = defineRoute({
  method: 'delete',
  path: '/api/users/:userId/extension-tokens',
  audience: 'backend',
  auth: 'backendToken',
  summary: "Revoke all of the user's extension tokens at once; answers how many",
  params: userParams,
  responses: { 200: revokedAnswer },
  errors: [404],
  async handler({ params: { userId } }, { deps: { db }, req }) {
    // `…/extension-tokens/` also lands here (routing ignores a trailing slash): most likely a single revoke whose
    // token id came out empty, which must not revoke every token.
    if (req.path.endsWith('/')) throw new HttpError(404, 'not_found', 'No token id given');
    const revoked = await db('extension_tokens')
      .where({ user_id: userId })
      .whereNull('revoked_at')
      .update({ revoked_at: db.fn.now() });
    return { status: 200, body: { revoked } };
  },
});

const revokeOne = defineRoute({
  method: 'delete',
  path: '/api/users/:userId/extension-tokens/:tokenId',
  audience: 'backend',
  auth: 'backendToken',
  summary: 'Revoke an extension token',
  params: tokenParams,
  responses: { 204: null },
  errors: [404],
  async handler({ params: { userId, tokenId } }, { deps: { db } }) {
    const n = await db('extension_tokens')
      .where({ id: tokenId, user_id: userId })
      .whereNull('revoked_at')
      .update({ revoked_at: db.fn.now() });
    if (n === 0) throw new HttpError(404, 'not_found', `No active token ${tokenId} for user ${userId}`);
    return { status: 204 };
  },
});

export const extensionTokenRoutes: Route[] = [createToken, listTokens, revokeAll, revokeOne];
