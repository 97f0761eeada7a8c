// LinkedIn cookie connections: where a connection stands as clients see it, and starting one (claim, start, roll
// back), shared by the extension's cookie sync and anything else that starts one. A cookie connection is a
// connection like the custom-authentication ones (connectionWorkflow) whose credentials are the
// session's cookies; its session row mirrors where it stands for the extension.
import type { SessionRow } from './sessions';
import { DomainError } from '../platform/errors';
import { newConnectionId } from '../connections/store';
import { launchConnection, type ConnectionDeps } from '../connections/custom-auth';

/** A checkpoint waiting for its code, as clients see it; null when none waits. */
export function checkpointOf(row: SessionRow): { accountId: string; type: string; expiresAt: string | null } | null {
  if (row.recovery !== 'CHECKPOINT' || !row.checkpoint_account_id) return null;
  return {
    accountId: row.checkpoint_account_id,
    type: row.checkpoint_type ?? 'UNKNOWN',
    expiresAt: row.checkpoint_expires_at ? new Date(row.checkpoint_expires_at).toISOString() : null,
  };
}

/**
 * Starts a cookie connection unless one ran within CONNECT_RETRY_INTERVAL: the row is claimed atomically, the
 * connection workflow started, and the claim given back if it could not start (503, the next post retries). Within
 * the interval after a connection refused as another user's account, the answer is 409 `account_owned`.
 */
export async function startCookieConnection(deps: ConnectionDeps, row: SessionRow): Promise<boolean> {
  const { db, config } = deps;
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
  if (claimed.length === 0) {
    // The last connection of these cookies ended on an account another user owns: say so, not "connecting".
    if (row.last_error === 'account_owned') {
      throw new DomainError(
        'conflict',
        'account_owned',
        'These cookies are of a LinkedIn account that belongs to another user; nothing was linked',
      );
    }
    return false;
  }
  const connectionId = newConnectionId();
  try {
    await launchConnection(
      deps,
      { id: connectionId, user_id: row.user_id, provider: 'LINKEDIN', kind: 'create', session_id: String(row.id) },
      `LinkedIn cookie connection for user ${row.user_id}, member ${row.linkedin_member_id}`,
    );
    return true;
  } catch (err) {
    // Not started: give the claim back so the next cookie post tries again.
    await db('connections').where({ id: connectionId }).delete();
    await db('linkedin_sessions')
      .where({ id: row.id })
      .update({ date_last_try_connect: row.date_last_try_connect, status: row.status });
    deps.logger.warn({ sessionId: row.id, err: (err as Error).message }, 'could not start the cookie connection');
    throw new DomainError(
      'unavailable',
      'unavailable',
      'Cookies stored; the connection could not start yet, retry later',
    );
  }
}
