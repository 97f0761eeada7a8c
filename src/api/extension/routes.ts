import { BlockList, isIP } from 'node:net';
import { CookieCipher } from '../../platform/cipher';
import { findAccount } from '../../accounts/repository';
import { saveCookies, sessionById, type SessionRow } from '../../linkedin/sessions';
import { receiveEvents } from '../../inbound/inbound-events';
import { checkpointOf, startCookieConnection } from '../../linkedin/connections';
import { answerStep, type ConnectionAnswer } from '../../connections/custom-auth';
import { checkpointAnswer, checkpointBody, cookieAnswer, cookieBody } from '../../common/extension-api';
import { accountParams } from '../backend/schemas';
import type { ApiDeps } from '../http/deps';
import { asHttpError, HttpError } from '../http/errors';
import { extensionRateLimit } from '../http/rate-limits';
import { defineRoute, type Route } from '../http/route';

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

/**
 * Each new LinkedIn member id starts a connection at Unipile: one user may have a few (they switch accounts), not an
 * unbounded number. Checked before the write; two racing posts may pass it together, which is harmless.
 */
async function refuseMemberPastCap(deps: ApiDeps, userId: string, memberId: string): Promise<void> {
  const { db, config } = deps;
  const members = (await db('linkedin_sessions').where({ user_id: userId }).pluck('linkedin_member_id')) as string[];
  if (members.includes(memberId) || members.length < config.MAX_LINKEDIN_MEMBERS_PER_USER) return;
  throw new HttpError(
    409,
    'too_many_members',
    `This user already has cookies for ${members.length} LinkedIn members (the limit is ${config.MAX_LINKEDIN_MEMBERS_PER_USER})`,
  );
}

const linkedinCookies = defineRoute({
  method: 'post',
  path: '/api/extension/linkedin-cookies',
  audience: 'extension',
  auth: 'extensionToken',
  summary: "The user's LinkedIn cookies (409 account_owned while the member's account is another user's)",
  body: cookieBody,
  responses: { 202: cookieAnswer },
  errors: [403, 409, 429, 503],
  // Counted before the token is checked: a flood of random tokens is cut by address.
  use: (deps) => extensionRateLimit(deps.config.EXTENSION_RATE_LIMIT),
  async handler({ body }, { deps, req, caller }) {
    const { db, config } = deps;
    const userId = caller.by === 'extension' ? caller.userId : '';
    if (body.userId !== undefined && body.userId !== userId) {
      throw new HttpError(403, 'forbidden', "This token cannot write another user's cookies");
    }
    await refuseMemberPastCap(deps, userId, body.linkedin_member_id);
    const row = await saveCookies(db, new CookieCipher(config.COOKIE_ENCRYPTION_KEY), config.SIGNING_SECRET, {
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
      return {
        status: 202,
        body: {
          accountId: row.account_id,
          status: account?.status ?? row.status,
          recovery: account?.recovery ?? row.recovery,
        },
      };
    }

    await startCookieConnection(deps, row);
    const current = (await sessionById(db, row.id)) ?? row;
    return {
      status: 202,
      body: { accountId: null, status: current.status, recovery: current.recovery, checkpoint: checkpointOf(current) },
    };
  },
});

/** The code, through the connection waiting on the account's checkpoint. */
async function answerCheckpoint(deps: ApiDeps, connectionId: string, code: string): Promise<ConnectionAnswer> {
  try {
    return await answerStep(deps, connectionId, { code });
  } catch (err) {
    // An expired or finished connection: no checkpoint waits any more (the cookie flow's long-standing answer).
    // Another user's account, or another answer being checked, is said as such.
    const answered = asHttpError(err);
    if (answered && [409, 410].includes(answered.status) && !['account_owned', 'step_busy'].includes(answered.code))
      throw new HttpError(409, 'no_checkpoint', 'The checkpoint is no longer waiting for a code');
    throw err;
  }
}

const checkpoint = defineRoute({
  method: 'post',
  path: '/api/accounts/:accountId/checkpoint',
  audience: 'extension',
  auth: 'backendOrExtensionToken',
  summary: 'Answer a checkpoint with its code (409 account_owned when the account is another user’s)',
  params: accountParams,
  body: checkpointBody,
  responses: { 200: checkpointAnswer },
  errors: [403, 404, 409, 422, 503],
  async handler({ params: { accountId }, body: { code } }, { deps, caller }) {
    const { db } = deps;
    const row = await db<SessionRow>('linkedin_sessions').where({ checkpoint_account_id: accountId }).first();
    // The backend may answer any checkpoint; an extension only its own user's. Checked first: another user's token
    // learns nothing about the account, not even whether a checkpoint waits for it.
    if (caller.by === 'extension') {
      const owner = row ? row.user_id : (await findAccount(db, accountId))?.user_id;
      if (owner && owner !== caller.userId) {
        throw new HttpError(403, 'forbidden', "This token cannot answer another user's checkpoint");
      }
    }
    if (!row) throw new HttpError(404, 'not_found', `No checkpoint is waiting for account ${accountId}`);
    // The connection of that session: the code goes through its row, encrypted, never through Temporal.
    const connection = (await db('connections')
      .where({ session_id: row.id, state: 'pending' })
      .orderBy('created_at', 'desc')
      .first('id')) as { id: string } | undefined;
    if (!connection) throw new HttpError(409, 'no_checkpoint', 'No checkpoint is waiting for a code');
    const { step } = await answerCheckpoint(deps, connection.id, code);
    if (step.type === 'connected')
      return { status: 200, body: { outcome: 'connected', accountId: step.accountId } as const };
    if (step.type === 'failed') {
      // The words for failures the user must act on elsewhere (a restricted account), after the error code.
      const what = step.message ? ` ${step.message}` : '';
      throw new HttpError(422, 'checkpoint_failed', `The connection failed: ${step.error}.${what}`);
    }
    const checkpointType = step.type === 'checkpoint' ? step.checkpoint : 'QRCODE';
    return { status: 200, body: { outcome: 'checkpoint', accountId, checkpointType } as const };
  },
});

/** The browser extension's surface: cookie sync, and checkpoint codes (also from the backend). */
export const extensionRoutes: Route[] = [linkedinCookies, checkpoint];
