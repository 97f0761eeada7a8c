// Connections for the backend: custom authentication for every provider (start, read, answer a step), and the
// list of a user's connections still on their way (LinkedIn cookies and custom authentication alike).
import { connectionBody, stepBody } from '../../connections/input';
import { answerStep, readConnection, startConnection } from '../../connections/custom-auth';
import type { ConnectionRow } from '../../connections/store';
import type { SessionRow } from '../../linkedin/sessions';
import { checkpointOf } from '../../linkedin/connections';
import { defineRoute, type Route } from '../http/route';
import { connectionAnswer, connectionParams, connectionReadAnswer, connectionsAnswer, userParams } from './schemas';

const startOne = defineRoute({
  method: 'post',
  path: '/api/users/:userId/accounts',
  audience: 'backend',
  auth: 'backendToken',
  summary:
    'Connect an account by custom authentication (credentials, IMAP/SMTP, QR code): 202 {connectionId, step}; 409 account_owned when the login is another user’s account; 503 when it could not start (nothing kept)',
  params: userParams,
  body: connectionBody,
  responses: { 202: connectionAnswer },
  errors: [409, 503],
  async handler({ params: { userId }, body }, { deps }) {
    return { status: 202, body: await startConnection(deps, { userId, body }) };
  },
});

const readOne = defineRoute({
  method: 'get',
  path: '/api/connections/:connectionId',
  audience: 'backend',
  auth: 'backendToken',
  summary: "A custom-authentication connection's current step (a QR code's payload while it is shown)",
  params: connectionParams,
  responses: { 200: connectionReadAnswer },
  errors: [404],
  async handler({ params: { connectionId } }, { deps }) {
    return { status: 200, body: await readConnection(deps, connectionId) };
  },
});

const answerOne = defineRoute({
  method: 'post',
  path: '/api/connections/:connectionId/steps',
  audience: 'backend',
  auth: 'backendToken',
  summary:
    'Answer the current step ({code}, {phone}, {contractId} or {action}): 200 with the next step; 422 wrong code; 410 expired; 409 step_busy while another answer is checked, account_owned when the account is another user’s',
  params: connectionParams,
  body: stepBody,
  responses: { 200: connectionAnswer },
  errors: [404, 409, 410, 422, 503],
  async handler({ params: { connectionId }, body }, { deps }) {
    return { status: 200, body: await answerStep(deps, connectionId, body) };
  },
});

/** The user's connections not tied to an account yet: where each stands, and any checkpoint waiting. */
const listForUser = defineRoute({
  method: 'get',
  path: '/api/users/:userId/connections',
  audience: 'backend',
  auth: 'backendToken',
  summary: 'LinkedIn connections in progress, with any checkpoint',
  params: userParams,
  responses: { 200: connectionsAnswer },
  errors: [],
  async handler({ params: { userId } }, { deps: { db } }) {
    const sessions = await db<SessionRow>('linkedin_sessions')
      .where({ user_id: userId })
      .whereNull('account_id')
      .orderBy('id');
    // Custom-authentication connections still waiting for a step; finished ones are read by id.
    const pending = (await db('connections')
      .where({ user_id: userId, state: 'pending' })
      .whereNull('session_id') // cookie connections are listed from their sessions above
      .orderBy('created_at')
      .select('id', 'provider', 'kind', 'step', 'expires_at')) as Pick<
      ConnectionRow,
      'id' | 'provider' | 'kind' | 'step' | 'expires_at'
    >[];
    return { status: 200, body: { items: [...sessions.map(cookieItem), ...pending.map(customAuthItem)] } };
  },
});

function cookieItem(row: SessionRow) {
  return {
    id: String(row.id),
    method: 'cookies' as const,
    provider: 'LINKEDIN' as const,
    memberId: row.linkedin_member_id,
    step: row.status,
    recovery: row.recovery,
    lastError: row.last_error,
    lastCookieAt: row.date_last_cookie,
    checkpoint: checkpointOf(row),
  };
}

function customAuthItem(row: Pick<ConnectionRow, 'id' | 'provider' | 'kind' | 'step'>) {
  const { step } = row;
  return {
    id: row.id,
    method: row.kind === 'reconnect' ? ('custom_auth_reconnect' as const) : ('custom_auth' as const),
    provider: row.provider,
    step: step.type.toUpperCase(),
    checkpoint:
      step.type === 'checkpoint'
        ? { type: step.checkpoint, expiresAt: step.expiresAt }
        : step.type === 'qrcode'
          ? { type: 'QRCODE', expiresAt: step.expiresAt }
          : null,
  };
}

export const connectionRoutes: Route[] = [startOne, readOne, answerOne, listForUser];
