import type { Config } from '../config';
import { signToken } from '../tokens';
import type { UnipileApi } from '../unipile/unipile-api';

const LANDING_TTL_MS = 7 * 24 * 3_600_000;

export function landingPageUrl(config: Config, userId: string): string {
  return `${config.PUBLIC_BASE_URL}/connect/done?token=${signToken(config.SIGNING_SECRET, 'landing', userId, LANDING_TTL_MS)}`;
}

/**
 * Asks Unipile for a hosted-auth link. `name` is a signed reference to our user and notify_url carries a signed
 * token, so the callback proves which user the new account belongs to.
 */
export async function createHostedLink(
  config: Config,
  unipile: UnipileApi,
  input: {
    userId: string;
    reconnectAccountId?: string;
    providers?: string[] | '*';
    successRedirectUrl?: string;
    failureRedirectUrl?: string;
  },
): Promise<{ url: string; expiresAt: string }> {
  const ttl = config.HOSTED_LINK_TTL;
  const expiresAt = new Date(Date.now() + ttl).toISOString();
  const secret = config.SIGNING_SECRET;
  // The callback may come a while after the link was opened: give its token some slack.
  const notifyToken = signToken(secret, 'hosted-auth', input.userId, ttl + 3_600_000);
  const landing = landingPageUrl(config, input.userId);
  const { url } = await unipile.createHostedLink({
    ...(input.reconnectAccountId
      ? { type: 'reconnect', reconnect_account: input.reconnectAccountId }
      : { type: 'create', providers: input.providers ?? '*' }),
    expiresOn: expiresAt,
    name: signToken(secret, 'user', input.userId, ttl + 3_600_000),
    notify_url: `${config.PUBLIC_BASE_URL}/webhooks/unipile/hosted-auth?token=${notifyToken}`,
    success_redirect_url: input.successRedirectUrl ?? landing,
    failure_redirect_url: input.failureRedirectUrl ?? landing,
  });
  return { url, expiresAt };
}
