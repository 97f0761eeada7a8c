import { randomBytes } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { appendApiEvent, findAccount, type AccountRow } from '../../accounts/repository';
import { accountIdSchema, storableText, userIdSchema } from '../../platform/ids';
import { receiveEvents } from '../../inbound/inbound-events';
import { secretEquals } from '../../platform/tokens';
import { accountStatus, UnipileCallError } from '../../unipile/unipile-api';
import type { SessionRow } from '../../linkedin/sessions';
import type { ConnectionRow } from '../../connections/store';
import { checkpointOf } from '../../linkedin/connections';
import {
  accountWorkflowId,
  getAccountStateQuery,
  reconnectNowUpdate,
  type AccountView,
} from '../../workflows/account/contract';
import type { ApiDeps } from '../http/deps';
import { HttpError, validationError } from '../http/errors';
import { activeExtensionTokens, hashToken } from '../extension/auth';
import { createHostedLink } from '../../accounts/links';
import { ACCOUNT_TYPES, connectionBody } from '../../connections/input';
import { startConnection } from '../../connections/custom-auth';

export const accountParams = z.object({ accountId: accountIdSchema });
export const userParams = z.object({ userId: userIdSchema });

/** The path's account id, checked (SPEC §10.1): a 400 names `accountId`. */
export const accountIdParam = (params: unknown): string => parse(accountParams, params).accountId;
/** The path's user id, checked: a 400 names `userId`. */
export const userIdParam = (params: unknown): string => parse(userParams, params).userId;
export const userBody = z.object({
  email: storableText().pipe(z.string().email()),
  name: storableText().pipe(z.string().max(200)).optional(),
});
const PROVIDERS = [
  'LINKEDIN',
  'WHATSAPP',
  'INSTAGRAM',
  'MESSENGER',
  'TELEGRAM',
  'GOOGLE',
  'OUTLOOK',
  'MAIL',
  'TWITTER',
  'IMAP',
] as const;
/** Where a browser is sent after the wizard: an http(s) address only (never `javascript:` or `data:`). */
const webUrl = z
  .string()
  .max(2048)
  .url()
  // Zod runs refinements even after url() failed: an unparseable value must not throw here.
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), {
    message: 'must be an http or https URL',
  });
export const linkBody = z
  .object({
    providers: z.union([z.literal('*'), z.array(z.enum(PROVIDERS)).min(1)]).optional(),
    successRedirectUrl: webUrl.optional(),
    failureRedirectUrl: webUrl.optional(),
  })
  .strict();
export const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});
export const healthQuery = z.strictObject({ fresh: z.enum(['true', 'false']).optional() });
export const accountQuery = z.strictObject({ live: z.enum(['true', 'false']).optional() });
export const receiptsQuery = z.strictObject({
  state: z.enum(['dead', 'pending', 'forwarded']).default('dead'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});
export const tokenParams = z.object({
  userId: z.string(),
  tokenId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});
export const receiptParams = z.object({ receiptId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

export function toAccountJson(row: AccountRow) {
  const view = row.view;
  return {
    accountId: row.account_id,
    userId: row.user_id,
    provider: row.account_type,
    name: row.name,
    status: row.status,
    recovery: row.recovery,
    workflowId: row.workflow_id,
    lastUpdate: row.last_update,
    createdOn: row.created_on,
    // As the workflow last persisted it; null before its first transition.
    nextAttemptAt: view?.nextAttemptAt ?? null,
    nextEmailAt: view?.nextEmailAt ?? null,
    lastError: view?.lastError ?? null,
  };
}

export async function accountOr404(db: Knex, accountId: string): Promise<AccountRow> {
  const row = await findAccount(db, accountIdParam({ accountId }));
  if (!row) throw new HttpError(404, 'not_found', `No account ${accountId}`);
  return row;
}

export function parse<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

/**
 * What a failed Unipile call means to our caller: Unipile rate limiting → 429; Unipile down or slow → 503; both
 * with Retry-After. Any other 4xx is a final answer (a wrong API key, an account Unipile refuses): 502, since
 * retrying the same request cannot help. The message names Unipile's status and error type, nothing else.
 */
export function unipileFailure(err: unknown): HttpError {
  // Not Unipile's doing (our database, say): reported as what it is.
  if (!(err instanceof UnipileCallError)) throw err;
  if (err.status === 429) {
    return new HttpError(429, 'rate_limited', 'Unipile is rate limiting; retry later', 30);
  }
  if (!err.transient) {
    return new HttpError(502, 'unipile_refused', `Unipile refused the request: ${err.status} ${err.type}`);
  }
  return new HttpError(503, 'unipile_unavailable', 'Unipile could not be reached; retry later', 30);
}

/** Receipts that carry an account status (Unipile's webhook, a deletion through our API, a reconciliation). */
const STATUS_SOURCES = ['account_status', 'api', 'reconcile'];

/**
 * Whether a dead status receipt was overtaken: a newer status receipt of its account was applied already, or is
 * being forwarded now (claimed). Receipts are numbered in arrival order, so "newer" is a higher id. One still
 * pending and unclaimed is not counted: the replayed receipt goes out before it, in order.
 */
async function overtaken(db: Knex, row: { id: string | number; source: string; account_id: string | null }) {
  if (!row.account_id || !STATUS_SOURCES.includes(row.source)) return false;
  const newer = await db('webhook_receipts')
    .where({ account_id: row.account_id })
    .whereIn('source', STATUS_SOURCES)
    .where('id', '>', row.id)
    .where((q) =>
      q
        // Forwarded and applied: an unknown message (no_action) or another stale replay changed nothing.
        .where((f) => f.where({ state: 'forwarded' }).whereRaw(`coalesce(outcome, '') not in ('no_action', 'stale')`))
        .orWhere((p) => p.where({ state: 'pending' }).where('claimed_until', '>', db.fn.now())),
    )
    .first('id');
  return newer !== undefined;
}

/** Bearer API_TOKEN on every backend route (the browser extension's routes have their own tokens). */
export function requireApiToken(apiToken: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.path.startsWith('/extension/')) return next();
    const header = req.header('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (secretEquals(token, apiToken)) {
      res.locals.caller = 'backend';
      return next();
    }
    // A checkpoint code may also come from the extension of the user who owns the connection (SPEC §10.2): that
    // route checks the extension token itself.
    if (req.method === 'POST' && CHECKPOINT_PATH.test(req.path)) return next();
    throw new HttpError(401, 'unauthorized', 'Missing or wrong bearer token');
  };
}

/** The checkpoint route, as seen by middleware mounted at /api. */
const CHECKPOINT_PATH = /^\/accounts\/[^/]+\/checkpoint$/;

/** The backend API: users, links, accounts and their state. */
export function backendRoutes(deps: ApiDeps): Router {
  const { db, temporal } = deps;
  const router = Router();
  // The backend's bearer token guards /api; the extension's routes and the checkpoint (which an extension token may
  // also answer) authenticate themselves.
  router.use('/api', requireApiToken(deps.config.API_TOKEN));

  router.put('/api/users/:userId', async (req, res) => {
    const userId = userIdParam(req.params);
    const body = parse(userBody, req.body);
    await db('users')
      .insert({ id: userId, email: body.email, name: body.name ?? null })
      .onConflict('id')
      .merge({ email: body.email, name: body.name ?? null, updated_at: db.fn.now() });
    res.status(200).json({ userId, email: body.email, name: body.name ?? null });
  });

  router.post('/api/users/:userId/connect-link', async (req, res) => {
    const userId = userIdParam(req.params);
    const body = parse(linkBody, req.body);
    try {
      res.status(201).json(await createHostedLink(deps, { userId, ...body }));
    } catch (err) {
      throw unipileFailure(err);
    }
  });

  router.post('/api/accounts/:accountId/reconnect-link', async (req, res) => {
    const row = await accountOr404(db, req.params.accountId);
    if (!row.user_id) throw new HttpError(409, 'no_user', 'The account is not linked to a user yet');
    const body = parse(linkBody.omit({ providers: true }), req.body);
    try {
      const link = await createHostedLink(deps, {
        userId: row.user_id,
        reconnectAccountId: row.account_id,
        ...body,
      });
      res.status(201).json(link);
    } catch (err) {
      throw unipileFailure(err);
    }
  });

  router.get('/api/users/:userId/accounts', async (req, res) => {
    const userId = userIdParam(req.params);
    const rows = await db<AccountRow>('accounts').where({ user_id: userId }).orderBy('created_on');
    res.json({ items: rows.map(toAccountJson) });
  });

  router.get('/api/accounts/:accountId', async (req, res) => {
    const row = await accountOr404(db, req.params.accountId);
    const { live } = parse(accountQuery, req.query);
    // One indexed read by default: the workflow persists its view on every transition. `live=true` asks the
    // workflow itself (needs a worker, and a replay when the workflow is not cached).
    if (live !== 'true') {
      res.json({ ...toAccountJson(row), workflow: row.view ?? null, live: false });
      return;
    }
    let workflow: AccountView;
    try {
      workflow = await deps.temporal.workflow.getHandle(accountWorkflowId(row.account_id)).query(getAccountStateQuery);
    } catch (err) {
      deps.logger.debug({ accountId: row.account_id, err: (err as Error).message }, 'workflow query failed');
      throw new HttpError(503, 'unavailable', 'The account workflow could not be queried; retry later');
    }
    res.json({ ...toAccountJson(row), workflow, live: true });
  });

  router.get('/api/accounts/:accountId/events', async (req, res) => {
    const row = await accountOr404(db, req.params.accountId);
    const q = parse(eventsQuery, req.query);
    const query = db('account_events')
      .where({ account_id: row.account_id })
      .orderBy('id', 'desc')
      .limit(q.limit + 1);
    if (q.before) void query.where('id', '<', q.before);
    const rows = (await query) as { id: string; type: string; data: unknown; occurred_at: Date; recorded_at: Date }[];
    const page = rows.slice(0, q.limit);
    res.json({
      items: page.map((r) => ({ id: Number(r.id), type: r.type, data: r.data, occurredAt: r.occurred_at })),
      nextCursor: rows.length > q.limit ? Number(page[page.length - 1]!.id) : null,
    });
  });

  router.get('/api/accounts/:accountId/health', async (req, res) => {
    const row = await accountOr404(db, req.params.accountId);
    if (parse(healthQuery, req.query).fresh !== 'true') {
      res.json({ usable: row.status === 'OK', status: row.status, checkedAt: row.last_update });
      return;
    }
    let account;
    try {
      account = await deps.unipile.getAccount(row.account_id);
    } catch (err) {
      throw unipileFailure(err);
    }
    const status = account ? accountStatus(account) : 'DELETED';
    res.json({ usable: status === 'OK', status, checkedAt: new Date().toISOString() });
  });

  router.delete('/api/accounts/:accountId', async (req, res) => {
    const row = await accountOr404(db, req.params.accountId);
    try {
      await deps.unipile.deleteAccount(row.account_id);
    } catch (err) {
      if (!(err instanceof UnipileCallError && err.status === 404)) throw unipileFailure(err);
    }
    // Unipile will also send DELETED; this stored copy makes the local deletion independent of that webhook.
    await receiveEvents({ db, forwarding: deps.forwarder }, [
      {
        source: 'api',
        accountId: row.account_id,
        payload: {
          AccountStatus: {
            account_id: row.account_id,
            account_type: row.account_type ?? 'UNKNOWN',
            message: 'DELETED',
          },
        },
      },
    ]);
    res.status(202).json({ accountId: row.account_id, status: 'DELETED' });
  });

  // Stored events that could not be delivered (dead) or are still waiting (pending), for operators.
  router.get('/api/receipts', async (req, res) => {
    const q = parse(receiptsQuery, req.query);
    const query = db('webhook_receipts')
      .where({ state: q.state })
      .orderBy('id', 'desc')
      .limit(q.limit + 1)
      .select('id', 'source', 'account_id', 'message', 'received_at', 'forward_attempts', 'last_error', 'state');
    if (q.before) void query.where('id', '<', q.before);
    const rows = (await query) as {
      id: string;
      source: string;
      account_id: string | null;
      message: string | null;
      received_at: Date;
      forward_attempts: number;
      last_error: string | null;
      state: string;
    }[];
    const page = rows.slice(0, q.limit);
    res.json({
      items: page.map((r) => ({
        id: Number(r.id),
        source: r.source,
        accountId: r.account_id,
        message: r.message,
        state: r.state,
        receivedAt: r.received_at,
        attempts: r.forward_attempts,
        lastError: r.last_error,
      })),
      nextCursor: rows.length > q.limit ? Number(page[page.length - 1]!.id) : null,
    });
  });

  // Puts a dead receipt back in its account's queue (after the cause was fixed); it is forwarded at once.
  router.post('/api/receipts/:receiptId/replay', async (req, res) => {
    const { receiptId } = parse(receiptParams, req.params);
    const row = await db('webhook_receipts').where({ id: receiptId }).first();
    if (!row) throw new HttpError(404, 'not_found', `No receipt ${receiptId}`);
    if (row.state !== 'dead') throw new HttpError(409, 'not_dead', `Receipt ${receiptId} is ${row.state}, not dead`);
    if (await overtaken(db, row)) {
      // A newer status already reached the account: applying this one now would undo it (a stale CREDENTIALS
      // reopening an incident, a stale DELETED ending a live account). Recorded as handled, not applied.
      const marked = await db('webhook_receipts')
        .where({ id: receiptId, state: 'dead' })
        .update({ state: 'forwarded', outcome: 'stale', forwarded_at: db.fn.now(), claimed_until: null });
      if (marked === 0) throw new HttpError(409, 'not_dead', `Receipt ${receiptId} is no longer dead`);
      await appendApiEvent(db, row.account_id, 'event_ignored', { message: row.message, reason: 'stale', receiptId });
      res.status(200).json({ id: receiptId, state: 'forwarded', outcome: 'stale' });
      return;
    }
    await db('webhook_receipts')
      .where({ id: receiptId, state: 'dead' })
      .update({ state: 'pending', forward_attempts: 0, next_attempt_at: db.fn.now(), claimed_until: null });
    if (row.account_id) deps.forwarder.kick(row.account_id);
    res.status(202).json({ id: receiptId, state: 'pending' });
  });

  // Extension tokens are made and revoked by the backend for its users.
  router.post('/api/users/:userId/extension-token', async (req, res) => {
    const userId = userIdParam(req.params);
    const token = `ext_${randomBytes(24).toString('base64url')}`;
    const [row] = (await db('extension_tokens')
      .insert({ user_id: userId, token_hash: hashToken(token) })
      .returning(['id', 'created_at'])) as { id: string; created_at: Date }[];
    // The token is shown once; only its hash is stored.
    const expiresAt = new Date(row!.created_at.getTime() + deps.config.EXTENSION_TOKEN_TTL);
    res.status(201).json({ token, tokenId: String(row!.id), userId, expiresAt });
  });

  // The user's tokens still accepted (never the token itself): so the backend can show and prune them.
  router.get('/api/users/:userId/extension-tokens', async (req, res) => {
    const userId = userIdParam(req.params);
    const ttl = deps.config.EXTENSION_TOKEN_TTL;
    const rows = (await activeExtensionTokens(db, ttl)
      .where({ user_id: userId })
      .orderBy('id', 'desc')
      .limit(500)
      .select('id', 'created_at', 'last_used_at')) as { id: string; created_at: Date; last_used_at: Date | null }[];
    res.json({
      items: rows.map((r) => ({
        tokenId: String(r.id),
        createdAt: r.created_at,
        lastUsedAt: r.last_used_at,
        expiresAt: new Date(r.created_at.getTime() + ttl),
      })),
    });
  });

  // Every token of the user at once (a lost laptop, a user leaving): each gets 401 from the next request on.
  router.delete('/api/users/:userId/extension-tokens', async (req, res) => {
    const userId = userIdParam(req.params);
    // `…/extension-tokens/` also lands here (routing ignores a trailing slash): most likely a single revoke whose
    // token id came out empty, which must not revoke every token.
    if (req.path.endsWith('/')) throw new HttpError(404, 'not_found', 'No token id given');
    const revoked = await db('extension_tokens')
      .where({ user_id: userId })
      .whereNull('revoked_at')
      .update({ revoked_at: db.fn.now() });
    res.status(200).json({ revoked });
  });

  router.delete('/api/users/:userId/extension-tokens/:tokenId', async (req, res) => {
    const userId = userIdParam(req.params);
    const tokenId = parse(tokenParams, req.params).tokenId;
    const n = await db('extension_tokens')
      .where({ id: tokenId, user_id: userId })
      .whereNull('revoked_at')
      .update({ revoked_at: db.fn.now() });
    if (n === 0) throw new HttpError(404, 'not_found', `No active token ${tokenId} for user ${userId}`);
    res.status(204).end();
  });

  /** The user's LinkedIn connections not tied to an account yet: where each stands, and any checkpoint waiting. */
  router.get('/api/users/:userId/connections', async (req, res) => {
    const userId = userIdParam(req.params);
    const rows = await db<SessionRow>('linkedin_sessions')
      .where({ user_id: userId })
      .whereNull('account_id')
      .orderBy('id');
    // Custom-authentication connections still waiting for a step (SPEC §10.4); finished ones are read by id.
    const pending = (await db('connections')
      .where({ user_id: userId, state: 'pending' })
      .whereNull('session_id') // cookie connections are listed from their sessions above
      .orderBy('created_at')
      .select('id', 'provider', 'kind', 'step', 'expires_at')) as Pick<
      ConnectionRow,
      'id' | 'provider' | 'kind' | 'step' | 'expires_at'
    >[];
    res.json({
      items: [
        ...rows.map((row) => ({
          id: String(row.id),
          method: 'cookies',
          provider: 'LINKEDIN',
          memberId: row.linkedin_member_id,
          step: row.status,
          recovery: row.recovery,
          lastError: row.last_error,
          lastCookieAt: row.date_last_cookie,
          checkpoint: checkpointOf(row),
        })),
        ...pending.map((row) => ({
          id: row.id,
          method: row.kind === 'reconnect' ? 'custom_auth_reconnect' : 'custom_auth',
          provider: row.provider,
          step: row.step.type.toUpperCase(),
          checkpoint:
            row.step.type === 'checkpoint'
              ? { type: row.step.checkpoint, expiresAt: row.step.expiresAt }
              : row.step.type === 'qrcode'
                ? { type: 'QRCODE', expiresAt: row.step.expiresAt }
                : null,
        })),
      ],
    });
  });

  router.post('/api/accounts/:accountId/reconnect', async (req, res) => {
    const row = await accountOr404(db, req.params.accountId);
    if (row.status === 'DELETED') throw new HttpError(409, 'deleted', 'The account is deleted');
    if (req.body && typeof req.body === 'object' && 'provider' in req.body) {
      // With a provider body: reconnect in place by custom authentication (SPEC §10.4), a connection like any other.
      const body = parse(connectionBody, req.body);
      if (!ACCOUNT_TYPES[body.provider]?.includes(row.account_type ?? '')) {
        throw new HttpError(409, 'provider_mismatch', `Account ${row.account_id} is a ${row.account_type} account`);
      }
      if (!row.user_id) throw new HttpError(409, 'no_owner', 'The account belongs to no user yet');
      res.status(202).json(await startConnection(deps, { userId: row.user_id, body, reconnect: row.account_id }));
      return;
    }
    try {
      const attempt = await temporal.workflow
        .getHandle(accountWorkflowId(row.account_id))
        .executeUpdate(reconnectNowUpdate);
      res.status(200).json({ accountId: row.account_id, attempt });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new HttpError(409, 'not_possible', err.cause?.message ?? 'The attempt could not run');
      }
      throw new HttpError(503, 'unavailable', 'The account workflow could not be reached; retry later');
    }
  });

  return router;
}
