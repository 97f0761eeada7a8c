import type { UnipileApi } from './unipile-api';

export const ACCOUNT_STATUS_PATH = '/webhooks/unipile/account-status';

/**
 * Makes sure Unipile sends `account_status` webhooks to this service: with the Unipile-Auth secret header and a
 * JSON content type (webhooks created through the API have none by default). Idempotent: an existing webhook for
 * the same URL is kept.
 */
export async function registerAccountStatusWebhook(
  unipile: UnipileApi,
  publicBaseUrl: string,
  secret: string,
): Promise<{ webhookId: string; created: boolean }> {
  const requestUrl = `${publicBaseUrl.replace(/\/+$/, '')}${ACCOUNT_STATUS_PATH}`;
  const existing = (await unipile.listWebhooks()).find(
    (w) => w.request_url === requestUrl && (w.source === undefined || w.source === 'account_status'),
  );
  if (existing) return { webhookId: existing.id, created: false };
  const webhookId = await unipile.createWebhook({
    request_url: requestUrl,
    source: 'account_status',
    name: 'account status (unipile account keeper)',
    headers: [
      { key: 'Unipile-Auth', value: secret },
      { key: 'Content-Type', value: 'application/json' },
    ],
  });
  return { webhookId, created: true };
}
