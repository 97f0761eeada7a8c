import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { CookieCipher } from '../cookies/cookie-cipher';
import { findAccount } from '../db/repository';
import { saveCookies, sessionById, type SessionRow } from '../db/linkedin-sessions';
import { storableText } from '../ids';
import { receiveEvents } from '../inbound/inbound-events';
import {
  accountWorkflowId,
  LINKEDIN_CONNECT_WORKFLOW_TYPE,
  linkedinConnectWorkflowId,
  type LinkedinConnectWorkflowFn,
  reconnectNowUpdate,
  solveCheckpointUpdate,
} from '../workflows/definitions';
import { accountIdParam, accountOr404, parse, userIdParam } from './backend-routes';
import type { ApiDeps } from './deps';
import { HttpError } from './http-errors';
import { extensionRateLimit } from './rate-limits';

export const cookieBody = z
  .object({
    li_at: z.string().min(10, 'must be the li_at cookie value').max(4096),
    li_a: z.string().min(1).max(4096).optional(),
    user_agent: storableText().pipe(z.string().min(1).max(1024)),
    // Short enough that the connection's workflow id stays under Temporal's 255 characters.
    linkedin_member_id: storableText().pipe(z.string().min(1).max(100)),
    ip: z
      .string()
      .refine((v) => isIP(v) === 4, 'must be an IPv4 address')
      .optional(),
    country: z
      .string()
      .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166 alpha-2 code')
      .transform((v) => v.toUpperCase())
      .optional(),
    // Optional: an extension may say which user it believes it acts for; it must be the token's user.
    userId: z.string().min(1).optional(),
  })
  .strict();

export const tokenParams = z.object({
  userId: z.string(),
  tokenId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});

export const checkpointBody = z.object({ code: storableText().pipe(z.string().trim().min(1).max(100)) }).strict();

/** A checkpoint waiting for its code, as clients see it; null when none waits. */
function checkpointOf(row: SessionRow): { accountId: string; type: string; expiresAt: string | null } | null {
  if (row.recovery !== 'CHECKPOINT' || !row.checkpoint_account_id) return null;
  return {
    accountId: row.checkpoint_account_id,
    type: row.checkpoint_type ?? 'UNKNOWN',
    expiresAt: row.checkpoint_expires_at ? new Date(row.checkpoint_expires_at).toISOString() : null,
  };
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The browser extension's surface, its tokens, checkpoint codes and "reconnect now". */
export function extensionRoutes(deps: ApiDeps): Router {
  const { db, config, temporal } = deps;
  const router = Router();
  const cipher = new CookieCipher(config.COOKIE_ENCRYPTION_KEY);

  /** The user an extension token belongs to; 401 when missing, unknown or revoked. */
  async function extensionUser(req: Request): Promise<string> {
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

  router.post('/api/users/:userId/extension-token', async (req, res) => {
    const userId = userIdParam(req.params);
    const token = `ext_${randomBytes(24).toString('base64url')}`;
    const [row] = await db('extension_tokens')
      .insert({ user_id: userId, token_hash: hashToken(token) })
      .returning('id');
    // The token is shown once; only its hash is stored.
    res.status(201).json({ token, tokenId: String(row.id), userId });
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

  router.post(
    '/api/extension/linkedin-cookies',
    ...extensionRateLimit(config.EXTENSION_RATE_LIMIT),
    async (req, res) => {
      const userId = await extensionUser(req);
      const body = parse(cookieBody, req.body);
      if (body.userId !== undefined && body.userId !== userId) {
        throw new HttpError(403, 'forbidden', "This token cannot write another user's cookies");
      }
      await refuseMemberPastCap(userId, body.linkedin_member_id);
      const row = await saveCookies(db, cipher, config.SIGNING_SECRET, {
        userId,
        memberId: body.linkedin_member_id,
        liAt: body.li_at,
        liA: body.li_a,
        userAgent: body.user_agent,
        ip: body.ip,
        country: body.country,
      });

      if (row.account_id) {
        // The account workflow learns of a new cookie through the one way in, like any webhook; the same cookie sent
        // again (every few hours, or a flood of posts) only refreshes the row's date_last_cookie.
        if (row.previous_fingerprint !== row.cookie_fingerprint)
          await receiveEvents({ db, forwarding: deps.forwarder }, [
            {
              source: 'extension_cookie',
              accountId: row.account_id,
              payload: { fingerprint: row.cookie_fingerprint, at: row.date_last_cookie.toISOString() },
            },
          ]);
        const account = await findAccount(db, row.account_id);
        res.status(202).json({
          accountId: row.account_id,
          status: account?.status ?? row.status,
          recovery: account?.recovery ?? row.recovery,
        });
        return;
      }

      await maybeStartConnection(row);
      const current = (await sessionById(db, row.id)) ?? row;
      res.status(202).json({
        accountId: null,
        status: current.status,
        recovery: current.recovery,
        checkpoint: checkpointOf(current),
      });
    },
  );

  /** The user's LinkedIn connections not tied to an account yet: where each stands, and any checkpoint waiting. */
  router.get('/api/users/:userId/connections', async (req, res) => {
    const userId = userIdParam(req.params);
    const rows = await db<SessionRow>('linkedin_sessions')
      .where({ user_id: userId })
      .whereNull('account_id')
      .orderBy('id');
    res.json({
      items: rows.map((row) => ({
        id: String(row.id),
        provider: 'LINKEDIN',
        memberId: row.linkedin_member_id,
        step: row.status,
        recovery: row.recovery,
        lastError: row.last_error,
        lastCookieAt: row.date_last_cookie,
        checkpoint: checkpointOf(row),
      })),
    });
  });

  /**
   * Each new LinkedIn member id starts a connection at Unipile: one user may have a few (they switch accounts), not
   * an unbounded number. Checked before the write; two racing posts may pass it together, which is harmless.
   */
  async function refuseMemberPastCap(userId: string, memberId: string): Promise<void> {
    const members = (await db('linkedin_sessions').where({ user_id: userId }).pluck('linkedin_member_id')) as string[];
    if (members.includes(memberId) || members.length < config.MAX_LINKEDIN_MEMBERS_PER_USER) return;
    throw new HttpError(
      409,
      'too_many_members',
      `This user already has cookies for ${members.length} LinkedIn members (the limit is ${config.MAX_LINKEDIN_MEMBERS_PER_USER})`,
    );
  }

  /** Starts a cookie connection unless one ran within CONNECT_RETRY_INTERVAL (claimed atomically on the row). */
  async function maybeStartConnection(row: SessionRow): Promise<boolean> {
    const claimed = await db('linkedin_sessions')
      .where({ id: row.id })
      .whereNull('account_id')
      .where((q) =>
        q
          .whereNull('date_last_try_connect')
          .orWhere(
            'date_last_try_connect',
            '<',
            db.raw(`now() - make_interval(secs => ?)`, [config.CONNECT_RETRY_INTERVAL / 1000]),
          ),
      )
      .update({ date_last_try_connect: db.fn.now(), status: 'CONNECTING', last_error: null })
      .returning('id');
    if (claimed.length === 0) return false;
    try {
      await temporal.connection.withDeadline(Date.now() + 5000, () =>
        temporal.workflow.start<LinkedinConnectWorkflowFn>(LINKEDIN_CONNECT_WORKFLOW_TYPE, {
          workflowId: linkedinConnectWorkflowId(row.user_id, row.linkedin_member_id),
          taskQueue: config.TEMPORAL_TASK_QUEUE,
          args: [{ sessionId: String(row.id), userId: row.user_id, checkpointTimeoutMs: config.CHECKPOINT_TIMEOUT }],
          workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          staticSummary: `LinkedIn cookie connection for user ${row.user_id}`,
        }),
      );
      return true;
    } catch (err) {
      // Not started: give the claim back so the next cookie post tries again.
      await db('linkedin_sessions')
        .where({ id: row.id })
        .update({ date_last_try_connect: row.date_last_try_connect, status: row.status });
      deps.logger.warn({ sessionId: row.id, err: (err as Error).message }, 'could not start the cookie connection');
      throw new HttpError(503, 'unavailable', 'Cookies stored; the connection could not start yet, retry later');
    }
  }

  router.post('/api/accounts/:accountId/checkpoint', async (req, res) => {
    // The backend token, or the extension token of the user whose connection waits (checked below).
    const extensionCaller = res.locals.caller === 'backend' ? undefined : await extensionUser(req);
    const accountId = accountIdParam(req.params);
    const { code } = parse(checkpointBody, req.body);
    const row = await db<SessionRow>('linkedin_sessions').where({ checkpoint_account_id: accountId }).first();
    if (!row) throw new HttpError(404, 'not_found', `No checkpoint is waiting for account ${accountId}`);
    if (extensionCaller !== undefined && extensionCaller !== row.user_id) {
      throw new HttpError(403, 'forbidden', "This token cannot answer another user's checkpoint");
    }
    let result;
    try {
      result = await temporal.workflow
        .getHandle(linkedinConnectWorkflowId(row.user_id, row.linkedin_member_id))
        .executeUpdate(solveCheckpointUpdate, {
          args: [code],
        });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new HttpError(409, 'no_checkpoint', err.cause?.message ?? 'No checkpoint is waiting for a code');
      }
      throw new HttpError(409, 'no_checkpoint', 'The checkpoint is no longer waiting for a code');
    }
    if (result.outcome === 'wrong_code') {
      throw new HttpError(422, 'invalid_checkpoint_solution', 'The code is wrong or expired; try again');
    }
    if (result.outcome === 'failed') {
      throw new HttpError(422, 'checkpoint_failed', `The connection failed: ${result.errorType}`);
    }
    res.status(200).json(result);
  });

  router.post('/api/accounts/:accountId/reconnect', async (req, res) => {
    const row = await accountOr404(db, req.params.accountId);
    if (row.status === 'DELETED') throw new HttpError(409, 'deleted', 'The account is deleted');
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
