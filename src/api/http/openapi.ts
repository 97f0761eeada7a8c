// The OpenAPI 3.1 description of the HTTP surface, built from the same zod schemas that validate each request.
// test/integration/openapi.test.ts fails when a route Express serves is missing here.
import { OpenAPIRegistry, OpenApiGeneratorV31, extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z, type ZodTypeAny } from 'zod';
import {
  accountParams,
  accountQuery,
  eventsQuery,
  healthQuery,
  linkBody,
  receiptParams,
  receiptsQuery,
  tokenParams,
  userBody,
  userParams,
} from '../backend/routes';
import { checkpointBody, cookieBody } from '../extension/routes';
import { connectionParams } from '../backend/connection-routes';
import { connectionBody, stepBody } from '../../connections/input';
import { accountStatusBody, hostedAuthBody } from '../webhooks/routes';
import { reconcileConfirmBody } from '../operations/reconcile-routes';

extendZodWithOpenApi(z);

type Audience = 'backend' | 'extension' | 'webhooks' | 'pages' | 'operations';

interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  audience: Audience;
  summary: string;
  status: number;
  params?: z.AnyZodObject;
  query?: z.AnyZodObject;
  body?: ZodTypeAny;
  /** Who may call it: the names of the security schemes below (any one suffices). */
  auth?: ('backendToken' | 'extensionToken' | 'unipileAuth')[];
}

const tokenQuery = z.object({ token: z.string() });

/** Every route, by audience. */
const ROUTES: Route[] = [
  {
    method: 'put',
    path: '/api/users/{userId}',
    audience: 'backend',
    summary: 'Register the contact used for emails',
    status: 200,
    params: userParams,
    body: userBody,
    auth: ['backendToken'],
  },
  {
    method: 'post',
    path: '/api/users/{userId}/connect-link',
    audience: 'backend',
    summary: 'Hosted-auth link to connect an account',
    status: 201,
    params: userParams,
    body: linkBody,
    auth: ['backendToken'],
  },
  {
    method: 'post',
    path: '/api/accounts/{accountId}/reconnect-link',
    audience: 'backend',
    summary: 'Hosted-auth link to reconnect an account',
    status: 201,
    params: accountParams,
    body: linkBody.omit({ providers: true }),
    auth: ['backendToken'],
  },
  {
    method: 'get',
    path: '/api/users/{userId}/accounts',
    audience: 'backend',
    summary: "The user's accounts",
    status: 200,
    params: userParams,
    auth: ['backendToken'],
  },
  {
    method: 'get',
    path: '/api/users/{userId}/connections',
    audience: 'backend',
    summary: 'LinkedIn connections in progress, with any checkpoint',
    status: 200,
    params: userParams,
    auth: ['backendToken'],
  },
  {
    method: 'get',
    path: '/api/accounts/{accountId}',
    audience: 'backend',
    summary: 'An account and its workflow view',
    status: 200,
    params: accountParams,
    query: accountQuery,
    auth: ['backendToken'],
  },
  {
    method: 'get',
    path: '/api/accounts/{accountId}/events',
    audience: 'backend',
    summary: "The account's history, newest first",
    status: 200,
    params: accountParams,
    query: eventsQuery,
    auth: ['backendToken'],
  },
  {
    method: 'get',
    path: '/api/accounts/{accountId}/health',
    audience: 'backend',
    summary: 'Whether the account is usable now',
    status: 200,
    params: accountParams,
    query: healthQuery,
    auth: ['backendToken'],
  },
  {
    method: 'delete',
    path: '/api/accounts/{accountId}',
    audience: 'backend',
    summary: 'Delete the account at Unipile',
    status: 202,
    params: accountParams,
    auth: ['backendToken'],
  },
  {
    method: 'post',
    path: '/api/accounts/{accountId}/reconnect',
    audience: 'backend',
    summary:
      'Without a body: run one recovery attempt now (200). With a provider body: reconnect in place by custom authentication (202 {connectionId, step}; 409 account_owned when Unipile answers with another user’s account)',
    status: 200,
    params: accountParams,
    body: connectionBody.optional(),
    auth: ['backendToken'],
  },
  {
    method: 'post',
    path: '/api/users/{userId}/accounts',
    audience: 'backend',
    summary:
      'Connect an account by custom authentication (credentials, IMAP/SMTP, QR code): 202 {connectionId, step}; 409 account_owned when the login is another user’s account; 503 when it could not start (nothing kept)',
    status: 202,
    params: userParams,
    body: connectionBody,
    auth: ['backendToken'],
  },
  {
    method: 'get',
    path: '/api/connections/{connectionId}',
    audience: 'backend',
    summary: "A custom-authentication connection's current step (a QR code's payload while it is shown)",
    status: 200,
    params: connectionParams,
    auth: ['backendToken'],
  },
  {
    method: 'post',
    path: '/api/connections/{connectionId}/steps',
    audience: 'backend',
    summary:
      'Answer the current step ({code}, {phone}, {contractId} or {action}): 200 with the next step; 422 wrong code; 410 expired; 409 step_busy while another answer is checked, account_owned when the account is another user’s',
    status: 200,
    params: connectionParams,
    body: stepBody,
    auth: ['backendToken'],
  },
  {
    method: 'post',
    path: '/api/accounts/{accountId}/checkpoint',
    audience: 'extension',
    summary: 'Answer a checkpoint with its code (409 account_owned when the account is another user’s)',
    status: 200,
    params: accountParams,
    body: checkpointBody,
    auth: ['backendToken', 'extensionToken'],
  },
  {
    method: 'get',
    path: '/api/receipts',
    audience: 'backend',
    summary: 'Stored events by state',
    status: 200,
    query: receiptsQuery,
    auth: ['backendToken'],
  },
  {
    method: 'post',
    path: '/api/receipts/{receiptId}/replay',
    audience: 'backend',
    summary:
      'Put a dead receipt back in its queue (202); a status receipt overtaken by a newer applied one is recorded as stale, not applied (200, outcome "stale")',
    status: 202,
    params: receiptParams,
    auth: ['backendToken'],
  },
  {
    method: 'post',
    path: '/api/reconcile/confirm',
    audience: 'backend',
    summary:
      'Confirm the deletions a reconciliation run held (the newest hold, or `holdId`): each held account is deleted on Unipile’s second 404, at least RECONCILE_GRACE after its first (202 {holdId, reason, accounts, workflowId}; a confirmed hold whose workflow stopped is taken up again; 404 when nothing is held; 409 hold_not_confirmable for a listing from another workspace: fix UNIPILE_API_KEY)',
    status: 202,
    body: reconcileConfirmBody,
    auth: ['backendToken'],
  },
  {
    method: 'post',
    path: '/api/users/{userId}/extension-token',
    audience: 'backend',
    summary: 'A token for the browser extension (shown once)',
    status: 201,
    params: userParams,
    auth: ['backendToken'],
  },
  {
    method: 'get',
    path: '/api/users/{userId}/extension-tokens',
    audience: 'backend',
    summary: "The user's extension tokens still accepted: id, created, last used, expiry (never the token)",
    status: 200,
    params: userParams,
    auth: ['backendToken'],
  },
  {
    method: 'delete',
    path: '/api/users/{userId}/extension-tokens',
    audience: 'backend',
    summary: "Revoke all of the user's extension tokens at once; answers how many",
    status: 200,
    params: userParams,
    auth: ['backendToken'],
  },
  {
    method: 'delete',
    path: '/api/users/{userId}/extension-tokens/{tokenId}',
    audience: 'backend',
    summary: 'Revoke an extension token',
    status: 204,
    params: tokenParams,
    auth: ['backendToken'],
  },
  {
    method: 'post',
    path: '/api/extension/linkedin-cookies',
    audience: 'extension',
    summary: "The user's LinkedIn cookies (409 account_owned while the member's account is another user's)",
    status: 202,
    body: cookieBody,
    auth: ['extensionToken'],
  },
  {
    method: 'post',
    path: '/webhooks/unipile/account-status',
    audience: 'webhooks',
    summary: "Unipile's account_status webhook",
    status: 200,
    body: accountStatusBody,
    auth: ['unipileAuth'],
  },
  {
    method: 'post',
    path: '/webhooks/unipile/hosted-auth',
    audience: 'webhooks',
    summary:
      "Unipile's notify_url callback (signed token in the query); 409 account_owned for an account of another user, or one known before a create link was made",
    status: 200,
    query: tokenQuery,
    body: hostedAuthBody,
  },
  {
    method: 'get',
    path: '/connect/done',
    audience: 'pages',
    summary: 'Landing page after the wizard (signed token)',
    status: 200,
    query: tokenQuery,
  },
  {
    method: 'get',
    path: '/accounts/{accountId}/reconnect',
    audience: 'pages',
    summary:
      "Email links: 302 to the account's hosted link, reused while fresh (HOSTED_LINK_REUSE); 429 past RECONNECT_PAGE_RATE_LIMIT",
    status: 302,
    params: accountParams,
    query: tokenQuery,
  },
  { method: 'get', path: '/healthz', audience: 'operations', summary: 'The process is up', status: 200 },
  { method: 'get', path: '/readyz', audience: 'operations', summary: 'PostgreSQL and Temporal reachable', status: 200 },
  { method: 'get', path: '/metrics', audience: 'operations', summary: 'Prometheus metrics', status: 200 },
  { method: 'get', path: '/openapi.json', audience: 'operations', summary: 'This document', status: 200 },
];

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** The OpenAPI 3.1 document (built once per process). */
export function openApiDocument(): object {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'backendToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'API_TOKEN',
  });
  registry.registerComponent('securitySchemes', 'extensionToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'A per-user extension token',
  });
  registry.registerComponent('securitySchemes', 'unipileAuth', { type: 'apiKey', in: 'header', name: 'Unipile-Auth' });
  for (const r of ROUTES) {
    registry.registerPath({
      method: r.method,
      path: r.path,
      tags: [r.audience],
      summary: r.summary,
      ...(r.auth ? { security: r.auth.map((name) => ({ [name]: [] })) } : {}),
      request: {
        ...(r.params ? { params: r.params } : {}),
        ...(r.query ? { query: r.query } : {}),
        ...(r.body ? { body: { content: { 'application/json': { schema: r.body } } } } : {}),
      },
      responses: {
        [r.status]: { description: r.summary },
        '4XX': {
          description: 'The request is refused; the message names the problem',
          content: { 'application/json': { schema: errorBody } },
        },
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'unipile-account-keeper',
      version: '1',
      description: 'Keeps Unipile accounts connected; see README.md and docs/HTTP-API.md',
    },
  });
}
