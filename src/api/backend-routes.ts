import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { findAccount, type AccountRow } from '../db/repository';
import { secretEquals } from '../tokens';
import { accountStatus, UnipileCallError } from '../unipile/unipile-api';
import { accountWorkflowId, getAccountStateQuery, type AccountView } from '../workflows/definitions';
import type { ApiDeps } from './deps';
import { HttpError, validationError } from './http-errors';
import { createHostedLink } from './links';

export const idParam = z.string().min(1).max(200);
const userBody = z.object({ email: z.string().email(), name: z.string().max(200).optional() });
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
const linkBody = z
  .object({
    providers: z.union([z.literal('*'), z.array(z.enum(PROVIDERS)).min(1)]).optional(),
    successRedirectUrl: z.string().url().optional(),
    failureRedirectUrl: z.string().url().optional(),
  })
  .strict();
const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.coerce.number().int().positive().optional(),
});

export function toAccountJson(row: AccountRow) {
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
  };
}

export async function accountOr404(db: Knex, accountId: string): Promise<AccountRow> {
  const row = await findAccount(db, parse(idParam, accountId));
  if (!row) throw new HttpError(404, 'not_found', `No account ${accountId}`);
  return row;
}

export function parse<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

export function unipileFailure(err: unknown): HttpError {
  if (err instanceof UnipileCallError && err.status === 429) {
    return new HttpError(429, 'rate_limited', 'Unipile is rate limiting; retry later');
  }
  return new HttpError(503, 'unipile_unavailable', 'Unipile could not be reached; retry later');
}

/** Bearer API_TOKEN on every backend route (the browser extension's routes have their own tokens). */
export function requireApiToken(apiToken: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (req.path.startsWith('/extension/')) return next();
    const header = req.header('authorization') ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (!secretEquals(token, apiToken)) throw new HttpError(401, 'unauthorized', 'Missing or wrong bearer token');
    next();
  };
}

/** The backend API: users, links, accounts and their state. */
export function backendRoutes(deps: ApiDeps): Router {
  const { db, config } = deps;
  const router = Router();

  router.put('/api/users/:userId', async (req, res) => {
    const userId = parse(idParam, req.params.userId);
    const body = parse(userBody, req.body);
    await db('users')
      .insert({ id: userId, email: body.email, name: body.name ?? null })
      .onConflict('id')
      .merge({ email: body.email, name: body.name ?? null, updated_at: db.fn.now() });
    res.status(200).json({ userId, email: body.email, name: body.name ?? null });
  });

  router.post('/api/users/:userId/connect-link', async (req, res) => {
    const userId = parse(idParam, req.params.userId);
    const body = parse(linkBody, req.body);
    try {
      res.status(201).json(await createHostedLink(config, deps.unipile, { userId, ...body }));
    } catch (err) {
      throw unipileFailure(err);
    }
  });

  router.post('/api/accounts/:accountId/reconnect-link', async (req, res) => {
    const row = await accountOr404(db, req.params.accountId);
    if (!row.user_id) throw new HttpError(409, 'no_user', 'The account is not linked to a user yet');
    const body = parse(linkBody.omit({ providers: true }), req.body);
    try {
      const link = await createHostedLink(config, deps.unipile, {
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
    const userId = parse(idParam, req.params.userId);
    const rows = await db<AccountRow>('accounts').where({ user_id: userId }).orderBy('created_on');
    res.json({ items: rows.map(toAccountJson) });
  });

  router.get('/api/accounts/:accountId', async (req, res) => {
    const row = await accountOr404(db, req.params.accountId);
    let workflow: AccountView | null = null;
    try {
      workflow = await deps.temporal.workflow.getHandle(accountWorkflowId(row.account_id)).query(getAccountStateQuery);
    } catch (err) {
      deps.logger.debug({ accountId: row.account_id, err: (err as Error).message }, 'workflow query failed');
    }
    res.json({ ...toAccountJson(row), workflow });
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
    if (req.query.fresh !== 'true') {
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
    await db('webhook_receipts').insert({
      source: 'api',
      account_id: row.account_id,
      message: 'DELETED',
      payload: JSON.stringify({
        AccountStatus: { account_id: row.account_id, account_type: row.account_type, message: 'DELETED' },
      }),
    });
    deps.relay.kick();
    res.status(202).json({ accountId: row.account_id, status: 'DELETED' });
  });

  return router;
}
