// Unipile's calls to us: the account-status webhook (authenticated by its secret header) and the hosted-auth
// callback (authenticated by the signed token we put in its notify_url).
import express, { type RequestHandler } from 'express';
import { z } from 'zod';
import { AccountOwnedError, claimAccount, findAccount } from '../../accounts/repository';
import { accountIdSchema, storableText } from '../../platform/ids';
import { receiveEvents } from '../../inbound/inbound-events';
import { verifyToken } from '../../platform/tokens';
import { UnipileCallError } from '../../unipile/unipile-api';
import { accountWorkflowId } from '../../workflows/account/contract';
import type { ApiDeps } from '../http/deps';
import { HttpError } from '../http/errors';
import { webhookRateLimit } from '../http/rate-limits';
import { defineRoute, type Route } from '../http/route';

/** How long a hosted-auth callback waits for this process's Unipile budget before answering 503. */
const CALLBACK_BUDGET_WAIT_MS = 10_000;

/** Unipile's clock and ours may differ: an account created this long before a link still counts as after it. */
const CLAIM_CLOCK_TOLERANCE_MS = 5 * 60_000;

export const accountStatusBody = z.object({
  AccountStatus: z.object({
    account_id: accountIdSchema,
    account_type: storableText().pipe(z.string().min(1).max(64)),
    message: storableText().pipe(z.string().min(1).max(64)),
  }),
});

export const hostedAuthBody = z.object({
  status: storableText().pipe(z.string().min(1).max(64)),
  account_id: accountIdSchema,
  // The signed user reference we put in the link: without it the callback could name any account.
  name: z.string().min(1).max(512),
});

interface HostedLinkRow {
  link_id: string;
  user_id: string;
  reconnect_account_id: string | null;
  account_id: string | null;
  created_at: Date;
}

const receivedAnswer = z.strictObject({ received: z.literal(true) });
const tokenQuery = z.object({ token: z.string() });

/** Webhook bodies are read as text whatever their content type (see rawJsonBody), then as JSON. */
const webhookMiddleware = (deps: ApiDeps): RequestHandler[] => [
  webhookRateLimit(deps.config.WEBHOOK_RATE_LIMIT),
  express.text({ type: () => true, limit: '256kb' }),
];

const accountStatusWebhook = defineRoute({
  method: 'post',
  path: '/webhooks/unipile/account-status',
  audience: 'webhooks',
  auth: 'unipileAuth',
  summary: "Unipile's account_status webhook",
  body: accountStatusBody,
  rawJsonBody: true,
  responses: { 200: receivedAnswer },
  errors: [429, 503],
  use: webhookMiddleware,
  onRefused: (deps, why) => deps.metrics.webhooksReceived.inc({ source: 'account_status', result: why }),
  async handler({ body }, { deps }) {
    try {
      // Stored first: once Unipile has its 200, the event survives any crash or Temporal outage.
      await receiveEvents({ db: deps.db, forwarding: deps.forwarder }, [
        { source: 'account_status', accountId: body.AccountStatus.account_id, payload: body },
      ]);
    } catch (err) {
      deps.logger.error({ err: (err as Error).message }, 'could not store webhook');
      throw new HttpError(503, 'unavailable', 'Could not store the event; retry later');
    }
    deps.metrics.webhooksReceived.inc({ source: 'account_status', result: 'stored' });
    return { status: 200, body: { received: true } as const };
  },
});

/**
 * The signed token of notify_url names the link it was made for (Unipile sends no secret header here): checked
 * before the body is read, the link is kept in res.locals for the handler.
 */
const hostedLinkOfToken =
  (deps: ApiDeps): RequestHandler =>
  async (req, res, next) => {
    const { db, config } = deps;
    const linkId = verifyToken(config.SIGNING_SECRET, 'hosted-auth', req.query.token);
    const link = linkId
      ? ((await db('hosted_links').where({ link_id: linkId }).where('expires_at', '>', db.fn.now()).first()) as
          HostedLinkRow | undefined)
      : undefined;
    if (!link) throw new HttpError(401, 'unauthorized', 'Missing, invalid or expired token');
    res.locals.hostedLink = link;
    next();
  };

type HostedAuthBody = z.output<typeof hostedAuthBody>;

/** Whether the callback may bind this account to the link's user, from what we know before asking Unipile. */
async function refuseBeforeUnipile(deps: ApiDeps, link: HostedLinkRow, body: HostedAuthBody) {
  const { account_id, name: userRef } = body;
  const userId = link.user_id;
  if (verifyToken(deps.config.SIGNING_SECRET, 'user', userRef) !== userId) {
    throw new HttpError(403, 'forbidden', 'name does not belong to this link');
  }
  if (link.reconnect_account_id && link.reconnect_account_id !== account_id) {
    throw new HttpError(403, 'forbidden', 'This link reconnects another account');
  }
  if (link.account_id && link.account_id !== account_id) {
    throw new HttpError(409, 'link_used', 'This link has already connected another account');
  }
  // Refused before asking Unipile, so a refused callback costs no Unipile call.
  const existing = await findAccount(deps.db, account_id);
  const owner = existing?.user_id;
  if (owner && owner !== userId) {
    throw new HttpError(409, 'account_owned', 'This account belongs to another user');
  }
  // A create link connects a new account: one we already knew, unowned, before the link was made (listed by
  // reconciliation, say) was not connected through it, and is not handed to whoever holds a link. One first seen
  // after the link is its own (Unipile's status webhook may come before this callback).
  if (!owner && existing && !link.reconnect_account_id && existing.created_on < link.created_at) {
    throw new HttpError(409, 'account_owned', 'This account was connected before this link; it cannot be claimed');
  }
  return { owner };
}

/** The account as Unipile knows it: the callback alone proves nothing about it. */
async function confirmWithUnipile(deps: ApiDeps, link: HostedLinkRow, accountId: string, owner: string | null) {
  let account;
  try {
    // Unipile does not retry notify_url: the callback waits for a turn in the budget rather than being refused.
    account = await deps.unipile.getAccount(accountId, { maxWaitMs: CALLBACK_BUDGET_WAIT_MS });
  } catch (err) {
    const status = err instanceof UnipileCallError && err.status === 401 ? 502 : 503;
    throw new HttpError(status, 'unipile_unavailable', 'Could not confirm the account with Unipile');
  }
  if (!account || account.object !== 'Account' || account.id !== accountId) {
    throw new HttpError(404, 'not_found', `Unipile has no account ${accountId}`);
  }
  // Unipile's own creation time settles it for an account we first heard of after the link: one that existed at
  // Unipile before the link was made was not connected through it (a holder of a create link cannot name any
  // account of the workspace that reconciliation adopts later).
  const createdAtUnipile = Date.parse(account.created_at);
  if (
    !owner &&
    !link.reconnect_account_id &&
    Number.isFinite(createdAtUnipile) &&
    createdAtUnipile < new Date(link.created_at).getTime() - CLAIM_CLOCK_TOLERANCE_MS
  ) {
    throw new HttpError(409, 'account_owned', 'This account was connected before this link; it cannot be claimed');
  }
  return account;
}

const hostedAuthCallback = defineRoute({
  method: 'post',
  path: '/webhooks/unipile/hosted-auth',
  audience: 'webhooks',
  auth: 'none',
  summary:
    "Unipile's notify_url callback (signed token in the query); 409 account_owned for an account of another user, or one known before a create link was made",
  query: tokenQuery,
  body: hostedAuthBody,
  rawJsonBody: true,
  responses: { 200: receivedAnswer },
  errors: [401, 403, 404, 409, 429, 502, 503],
  use: (deps) => [...webhookMiddleware(deps), hostedLinkOfToken(deps)],
  async handler({ body }, { deps, res }) {
    const link = res.locals.hostedLink as HostedLinkRow;
    const { account_id } = body;
    const userId = link.user_id;
    const { owner } = await refuseBeforeUnipile(deps, link, body);
    const account = await confirmWithUnipile(deps, link, account_id, owner ?? null);
    // A display name: kept short, so a runaway value can never make the event too large for Temporal.
    const name = account.name?.slice(0, 256);
    await receiveEvents(
      { db: deps.db, forwarding: deps.forwarder },
      [
        {
          source: 'hosted_auth',
          accountId: account_id,
          callbackStatus: body.status,
          payload: { userId, provider: account.type, name },
        },
      ],
      async (trx) => {
        // The link is spent on this account, in the same transaction as the event: a link used meanwhile for
        // another account makes this callback fail with nothing stored.
        const bound = await trx('hosted_links')
          .where({ link_id: link.link_id })
          .where((q) => q.whereNull('account_id').orWhere({ account_id }))
          .update({ account_id, used_at: trx.raw('coalesce(used_at, now())') });
        if (bound === 0) throw new HttpError(409, 'link_used', 'This link has already connected another account');
        // Checked again here, in one statement: another user's callback may have claimed it meanwhile.
        try {
          await claimAccount(trx, {
            accountId: account_id,
            workflowId: accountWorkflowId(account_id),
            provider: account.type,
            userId,
            name,
          });
        } catch (err) {
          if (err instanceof AccountOwnedError) {
            throw new HttpError(409, 'account_owned', 'This account belongs to another user');
          }
          throw err;
        }
      },
    );
    deps.metrics.webhooksReceived.inc({ source: 'hosted_auth', result: 'stored' });
    return { status: 200, body: { received: true } as const };
  },
});

export const webhookRoutes: Route[] = [accountStatusWebhook, hostedAuthCallback];
