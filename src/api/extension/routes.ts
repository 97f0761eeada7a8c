import { BlockList, isIP } from 'node:net';
import { Router } from 'express';
import { z } from 'zod';
import { CookieCipher } from '../../platform/cipher';
import { findAccount } from '../../accounts/repository';
import { saveCookies, sessionById, type SessionRow } from '../../linkedin/sessions';
import { storableText } from '../../platform/ids';
import { receiveEvents } from '../../inbound/inbound-events';
import { checkpointOf, startCookieConnection } from '../../linkedin/connections';
import { answerStep } from '../../connections/custom-auth';
import { accountIdParam, parse } from '../backend/routes';
import { extensionUserOf } from './auth';
import type { ApiDeps } from '../http/deps';
import { HttpError } from '../http/errors';
import { extensionRateLimit } from '../http/rate-limits';

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

/** Addresses that say nothing about where the user is: private, shared, loopback, link-local, documentation… */
const NOT_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const)
  NOT_PUBLIC.addSubnet(net, bits, 'ipv4');

/**
 * The user's own public IPv4 address, from the request (X-Forwarded-For counts only from a TRUST_PROXY peer): used
 * when the extension sends no `ip`, so that Unipile can use an address in the user's country. Null otherwise.
 */
export function publicIpv4Of(address: string | undefined): string | null {
  const v4 = address?.startsWith('::ffff:') ? address.slice(7) : address;
  if (!v4 || isIP(v4) !== 4 || NOT_PUBLIC.check(v4, 'ipv4')) return null;
  return v4;
}

export const checkpointBody = z.object({ code: storableText().pipe(z.string().trim().min(1).max(100)) }).strict();

/** The browser extension's surface: cookie sync, and checkpoint codes (also from the backend). */
export function extensionRoutes(deps: ApiDeps): Router {
  const { db, config } = deps;
  const router = Router();
  const cipher = new CookieCipher(config.COOKIE_ENCRYPTION_KEY);

  router.post(
    '/api/extension/linkedin-cookies',
    ...extensionRateLimit(config.EXTENSION_RATE_LIMIT),
    async (req, res) => {
      const userId = await extensionUserOf(db, req, config.EXTENSION_TOKEN_TTL);
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
        ip: body.ip ?? publicIpv4Of(req.ip) ?? undefined,
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

      await startCookieConnection(deps, row);
      const current = (await sessionById(db, row.id)) ?? row;
      res.status(202).json({
        accountId: null,
        status: current.status,
        recovery: current.recovery,
        checkpoint: checkpointOf(current),
      });
    },
  );

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

  router.post('/api/accounts/:accountId/checkpoint', async (req, res) => {
    // The backend token, or the extension token of the user whose connection waits (checked below).
    const extensionCaller =
      res.locals.caller === 'backend' ? undefined : await extensionUserOf(db, req, config.EXTENSION_TOKEN_TTL);
    const accountId = accountIdParam(req.params);
    const { code } = parse(checkpointBody, req.body);
    const row = await db<SessionRow>('linkedin_sessions').where({ checkpoint_account_id: accountId }).first();
    if (!row) throw new HttpError(404, 'not_found', `No checkpoint is waiting for account ${accountId}`);
    if (extensionCaller !== undefined && extensionCaller !== row.user_id) {
      throw new HttpError(403, 'forbidden', "This token cannot answer another user's checkpoint");
    }
    // The connection of that session (SPEC §10.4): the code goes through its row, encrypted, never through Temporal.
    const connection = (await db('connections')
      .where({ session_id: row.id, state: 'pending' })
      .orderBy('created_at', 'desc')
      .first('id')) as { id: string } | undefined;
    if (!connection) throw new HttpError(409, 'no_checkpoint', 'No checkpoint is waiting for a code');
    let answer;
    try {
      answer = await answerStep(deps, connection.id, { code });
    } catch (err) {
      // An expired or finished connection: no checkpoint waits any more (the cookie flow's long-standing answer).
      // Another user's account, or another answer being checked, is said as such.
      if (
        err instanceof HttpError &&
        [409, 410].includes(err.status) &&
        !['account_owned', 'step_busy'].includes(err.code)
      )
        throw new HttpError(409, 'no_checkpoint', 'The checkpoint is no longer waiting for a code');
      throw err;
    }
    const { step } = answer;
    let result;
    if (step.type === 'connected') result = { outcome: 'connected', accountId: step.accountId };
    else if (step.type === 'failed')
      throw new HttpError(422, 'checkpoint_failed', `The connection failed: ${step.error}`);
    else
      result = {
        outcome: 'checkpoint',
        accountId,
        checkpointType: step.type === 'checkpoint' ? step.checkpoint : 'QRCODE',
      };
    res.status(200).json(result);
  });

  return router;
}
