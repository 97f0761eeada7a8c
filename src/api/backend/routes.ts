// The backend's API for users, hosted links and accounts. Every route takes the backend's bearer token (API_TOKEN).
import type { Knex } from 'knex';
import { findAccount, type AccountRow } from '../../accounts/repository';
import { createHostedLink } from '../../accounts/links';
import { receiveEvents } from '../../inbound/inbound-events';
import { accountStatus, UnipileCallError } from '../../unipile/unipile-api';
import { ACCOUNT_TYPES } from '../../connections/input';
import { startConnection } from '../../connections/custom-auth';
import {
  accountWorkflowId,
  getAccountStateQuery,
  reconnectNowUpdate,
  type AccountView,
} from '../../workflows/account/contract';
import { canonicalLocale } from '../../i18n';
import { HttpError } from '../http/errors';
import { updateAccountWorkflow } from './workflow-updates';
import { defineRoute, parse, type Route } from '../http/route';
import {
  accountAnswer,
  accountParams,
  accountQuery,
  accountsAnswer,
  accountWithViewAnswer,
  attemptAnswer,
  connectionAnswer,
  deletedAnswer,
  eventsAnswer,
  eventsQuery,
  healthAnswer,
  healthQuery,
  linkAnswer,
  linkBody,
  reconnectBody,
  reconnectLinkBody,
  userAnswer,
  userBody,
  userParams,
} from './schemas';
import type { z } from 'zod';

export function toAccountJson(row: AccountRow): z.input<typeof accountAnswer> {
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
  const row = await findAccount(db, parse(accountParams, { accountId }).accountId);
  if (!row) throw new HttpError(404, 'not_found', `No account ${accountId}`);
  return row;
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

/** Statuses of a route that asks Unipile while the caller waits. */
const UNIPILE_ERRORS = [429, 502, 503] as const;

const putUser = defineRoute({
  method: 'put',
  path: '/api/users/:userId',
  audience: 'backend',
  auth: 'backendToken',
  summary: 'Register the contact used for emails',
  params: userParams,
  body: userBody,
  responses: { 200: userAnswer },
  errors: [],
  async handler({ params: { userId }, body }, { deps: { db } }) {
    // Like `name`, a PUT without `locale` clears it (English). Stored canonical: `fr-fr` is kept as `fr-FR`.
    const locale = canonicalLocale(body.locale);
    await db('users')
      .insert({ id: userId, email: body.email, name: body.name ?? null, locale })
      .onConflict('id')
      .merge({ email: body.email, name: body.name ?? null, locale, updated_at: db.fn.now() });
    return { status: 200, body: { userId, email: body.email, name: body.name ?? null, locale } };
  },
});

const connectLink = defineRoute({
  method: 'post',
  path: '/api/users/:userId/connect-link',
  audience: 'backend',
  auth: 'backendToken',
  summary: 'Hosted-auth link to connect an account',
  params: userParams,
  body: linkBody,
  responses: { 201: linkAnswer },
  errors: UNIPILE_ERRORS,
  async handler({ params: { userId }, body }, { deps }) {
    try {
      return { status: 201, body: await createHostedLink(deps, { userId, ...body }) };
    } catch (err) {
      throw unipileFailure(err);
    }
  },
});

const reconnectLink = defineRoute({
  method: 'post',
  path: '/api/accounts/:accountId/reconnect-link',
  audience: 'backend',
  auth: 'backendToken',
  summary: 'Hosted-auth link to reconnect an account',
  params: accountParams,
  body: reconnectLinkBody,
  responses: { 201: linkAnswer },
  errors: [404, 409, ...UNIPILE_ERRORS],
  async handler({ params, body }, { deps }) {
    const row = await accountOr404(deps.db, params.accountId);
    if (!row.user_id) throw new HttpError(409, 'no_user', 'The account is not linked to a user yet');
    try {
      const link = await createHostedLink(deps, { userId: row.user_id, reconnectAccountId: row.account_id, ...body });
      return { status: 201, body: link };
    } catch (err) {
      throw unipileFailure(err);
    }
  },
});

const userAccounts = defineRoute({
  method: 'get',
  path: '/api/users/:userId/accounts',
  audience: 'backend',
  auth: 'backendToken',
  summary: "The user's accounts",
  params: userParams,
  responses: { 200: accountsAnswer },
  errors: [],
  async handler({ params: { userId } }, { deps: { db } }) {
    const rows = await db<AccountRow>('accounts').where({ user_id: userId }).orderBy('created_on');
    return { status: 200, body: { items: rows.map(toAccountJson) } };
  },
});

const getAccount = defineRoute({
  method: 'get',
  path: '/api/accounts/:accountId',
  audience: 'backend',
  auth: 'backendToken',
  summary: 'An account and its workflow view',
  params: accountParams,
  query: accountQuery,
  responses: { 200: accountWithViewAnswer },
  errors: [404, 503],
  async handler({ params, query }, { deps }) {
    const row = await accountOr404(deps.db, params.accountId);
    // One indexed read by default: the workflow persists its view on every transition. `live=true` asks the
    // workflow itself (needs a worker, and a replay when the workflow is not cached).
    if (query.live !== 'true') return { status: 200, body: { ...toAccountJson(row), workflow: row.view, live: false } };
    let workflow: AccountView;
    try {
      workflow = await deps.temporal.workflow.getHandle(accountWorkflowId(row.account_id)).query(getAccountStateQuery);
    } catch (err) {
      deps.logger.debug({ accountId: row.account_id, err: (err as Error).message }, 'workflow query failed');
      throw new HttpError(503, 'unavailable', 'The account workflow could not be queried; retry later');
    }
    return { status: 200, body: { ...toAccountJson(row), workflow, live: true } };
  },
});

const accountEvents = defineRoute({
  method: 'get',
  path: '/api/accounts/:accountId/events',
  audience: 'backend',
  auth: 'backendToken',
  summary: "The account's history, newest first",
  params: accountParams,
  query: eventsQuery,
  responses: { 200: eventsAnswer },
  errors: [404],
  async handler({ params, query: q }, { deps: { db } }) {
    const row = await accountOr404(db, params.accountId);
    const query = db('account_events')
      .where({ account_id: row.account_id })
      .orderBy('id', 'desc')
      .limit(q.limit + 1);
    if (q.before) void query.where('id', '<', q.before);
    const rows = (await query) as { id: string; type: string; data: unknown; occurred_at: Date; recorded_at: Date }[];
    const page = rows.slice(0, q.limit);
    return {
      status: 200,
      body: {
        items: page.map((r) => ({ id: Number(r.id), type: r.type, data: r.data, occurredAt: r.occurred_at })),
        nextCursor: rows.length > q.limit ? Number(page[page.length - 1]!.id) : null,
      },
    };
  },
});

const accountHealth = defineRoute({
  method: 'get',
  path: '/api/accounts/:accountId/health',
  audience: 'backend',
  auth: 'backendToken',
  summary: 'Whether the account is usable now',
  params: accountParams,
  query: healthQuery,
  responses: { 200: healthAnswer },
  errors: [404, ...UNIPILE_ERRORS],
  async handler({ params, query }, { deps }) {
    const row = await accountOr404(deps.db, params.accountId);
    if (query.fresh !== 'true') {
      return { status: 200, body: { usable: row.status === 'OK', status: row.status, checkedAt: row.last_update } };
    }
    let account;
    try {
      account = await deps.unipile.getAccount(row.account_id);
    } catch (err) {
      throw unipileFailure(err);
    }
    const status = account ? accountStatus(account) : 'DELETED';
    return { status: 200, body: { usable: status === 'OK', status, checkedAt: new Date().toISOString() } };
  },
});

const deleteAccount = defineRoute({
  method: 'delete',
  path: '/api/accounts/:accountId',
  audience: 'backend',
  auth: 'backendToken',
  summary: 'Delete the account at Unipile',
  params: accountParams,
  responses: { 202: deletedAnswer },
  errors: [404, ...UNIPILE_ERRORS],
  async handler({ params }, { deps }) {
    const { db } = deps;
    const row = await accountOr404(db, params.accountId);
    try {
      await deps.unipile.deleteAccount(row.account_id);
    } catch (err) {
      if (!(err instanceof UnipileCallError && err.status === 404)) throw unipileFailure(err);
    }
    // Unipile will also send DELETED; this stored copy makes the local deletion independent of that webhook.
    const status = { account_id: row.account_id, account_type: row.account_type ?? 'UNKNOWN', message: 'DELETED' };
    await receiveEvents({ db, forwarding: deps.forwarder }, [
      { source: 'api', accountId: row.account_id, payload: { AccountStatus: status } },
    ]);
    return { status: 202, body: { accountId: row.account_id, status: 'DELETED' } as const };
  },
});

const reconnect = defineRoute({
  method: 'post',
  path: '/api/accounts/:accountId/reconnect',
  audience: 'backend',
  auth: 'backendToken',
  summary:
    'Without a body: run one recovery attempt now (200). With a provider body: reconnect in place by custom authentication (202 {connectionId, step}; 409 account_owned when Unipile answers with another user’s account)',
  params: accountParams,
  body: reconnectBody,
  responses: { 200: attemptAnswer, 202: connectionAnswer },
  errors: [404, 409, 410, 429, 503],
  async handler({ params, body }, { deps }) {
    const row = await accountOr404(deps.db, params.accountId);
    if (row.status === 'DELETED') throw new HttpError(409, 'deleted', 'The account is deleted');
    if (body) {
      // Reconnect in place by custom authentication: a connection like any other.
      if (!ACCOUNT_TYPES[body.provider]?.includes(row.account_type ?? '')) {
        throw new HttpError(409, 'provider_mismatch', `Account ${row.account_id} is a ${row.account_type} account`);
      }
      if (!row.user_id) throw new HttpError(409, 'no_owner', 'The account belongs to no user yet');
      return {
        status: 202,
        body: await startConnection(deps, { userId: row.user_id, body, reconnect: row.account_id }),
      };
    }
    // No running workflow: 503 as before (the reconciliation or a webhook starts one; a retry may then succeed).
    const attempt = await updateAccountWorkflow(
      deps,
      row.account_id,
      {
        notPossible: 'The attempt could not run',
        notFound: new HttpError(503, 'unavailable', 'The account workflow could not be reached; retry later', 5),
      },
      (h) => h.executeUpdate(reconnectNowUpdate),
    );
    return { status: 200, body: { accountId: row.account_id, attempt } };
  },
});

/** Users, hosted links, accounts and their state. */
export const accountRoutes: Route[] = [
  putUser,
  connectLink,
  reconnectLink,
  userAccounts,
  getAccount,
  accountEvents,
  accountHealth,
  deleteAccount,
  reconnect,
];
