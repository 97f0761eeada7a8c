import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Config } from '../platform/config';
import { CookieCipher } from '../platform/cipher';
import { signToken } from '../platform/tokens';
import type { UnipileApi } from '../unipile/unipile-api';

const LANDING_TTL_MS = 7 * 24 * 3_600_000;

export function landingPageUrl(config: Config, userId: string): string {
  return `${config.PUBLIC_BASE_URL}/connect/done?token=${signToken(config.SIGNING_SECRET, 'landing', userId, LANDING_TTL_MS)}`;
}

/** Expired links are kept a day (a late callback gets a clear 401), then deleted as new links are made. */
const EXPIRED_LINKS_KEPT_MS = 24 * 3_600_000;
/** The callback may come a while after the link was opened: its token and row get some slack. */
const CALLBACK_SLACK_MS = 3_600_000;

/**
 * Asks Unipile for a hosted-auth link. Each link is a row of its own: notify_url carries a signed token naming
 * that row, so the callback is bound to one link (and, for a reconnect, to its account), and `name` is a signed
 * reference to our user, so the callback proves which user the new account belongs to.
 */
export async function createHostedLink(
  deps: { config: Config; unipile: UnipileApi; db: Knex },
  input: {
    userId: string;
    reconnectAccountId?: string;
    providers?: string[] | '*';
    successRedirectUrl?: string;
    failureRedirectUrl?: string;
    /** Keep the link (encrypted) so that reusableReconnectLink can hand it out again for this long. */
    reuseForMs?: number;
  },
): Promise<{ url: string; expiresAt: string }> {
  const { config, unipile, db } = deps;
  const ttl = config.HOSTED_LINK_TTL;
  const expiresAt = new Date(Date.now() + ttl).toISOString();
  const secret = config.SIGNING_SECRET;
  const linkId = randomBytes(16).toString('base64url');
  await db('hosted_links')
    .whereIn(
      'link_id',
      db('hosted_links')
        .select('link_id')
        .where('expires_at', '<', new Date(Date.now() - EXPIRED_LINKS_KEPT_MS))
        .limit(100),
    )
    .delete();
  await db('hosted_links').insert({
    link_id: linkId,
    user_id: input.userId,
    kind: input.reconnectAccountId ? 'reconnect' : 'create',
    reconnect_account_id: input.reconnectAccountId ?? null,
    expires_at: new Date(Date.now() + ttl + CALLBACK_SLACK_MS),
  });
  const notifyToken = signToken(secret, 'hosted-auth', linkId, ttl + CALLBACK_SLACK_MS);
  const landing = landingPageUrl(config, input.userId);
  const { url } = await unipile.createHostedLink({
    ...(input.reconnectAccountId
      ? { type: 'reconnect', reconnect_account: input.reconnectAccountId }
      : { type: 'create', providers: input.providers ?? '*' }),
    expiresOn: expiresAt,
    name: signToken(secret, 'user', input.userId, ttl + CALLBACK_SLACK_MS),
    notify_url: `${config.PUBLIC_BASE_URL}/webhooks/unipile/hosted-auth?token=${notifyToken}`,
    success_redirect_url: input.successRedirectUrl ?? landing,
    failure_redirect_url: input.failureRedirectUrl ?? landing,
  });
  if (input.reuseForMs && input.reuseForMs > 0) {
    // Handed out again only in the first half of its life at most, so a user who gets it has time to finish.
    const reuseUntil = new Date(Date.now() + Math.min(input.reuseForMs, ttl / 2));
    const urlCiphertext = linkCipher(config).encrypt(url, ['hosted-link', linkId]);
    await db('hosted_links')
      .where({ link_id: linkId })
      .update({ url_ciphertext: urlCiphertext, reuse_until: reuseUntil });
  }
  return { url, expiresAt };
}

/** Hosted-link URLs are encrypted at rest with the cookie keys: whoever holds one can reconnect the account. */
function linkCipher(config: Config): CookieCipher {
  return new CookieCipher(config.COOKIE_ENCRYPTION_KEY);
}

/**
 * The account's last reconnect link made for this user, if it may still be handed out: not used yet and within its
 * reuse period. Null otherwise, or when its key is gone (a rotation): a new link is made then.
 */
export async function reusableReconnectLink(
  deps: { config: Config; db: Knex },
  input: { userId: string; accountId: string },
): Promise<string | null> {
  const row = (await deps
    .db('hosted_links')
    .where({ kind: 'reconnect', reconnect_account_id: input.accountId, user_id: input.userId })
    .whereNull('used_at')
    .whereNotNull('url_ciphertext')
    .where('reuse_until', '>', new Date())
    .orderBy('created_at', 'desc')
    .first('link_id', 'url_ciphertext')) as { link_id: string; url_ciphertext: string } | undefined;
  if (!row) return null;
  try {
    return linkCipher(deps.config).decrypt(row.url_ciphertext, ['hosted-link', row.link_id]);
  } catch {
    return null;
  }
}
