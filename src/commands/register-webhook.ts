// npm run unipile:register-webhook: creates (once) the account_status webhook at Unipile pointing at this service.
import { loadConfigPart, unipileBaseUrl } from '../platform/config';
import { registerAccountStatusWebhook } from '../unipile/register-webhook';
import { UnipileApi } from '../unipile/unipile-api';

async function main(): Promise<void> {
  const c = loadConfigPart([
    'UNIPILE_DSN',
    'UNIPILE_API_KEY',
    'PUBLIC_BASE_URL',
    'UNIPILE_WEBHOOK_SECRET',
    'UNIPILE_REQUEST_TIMEOUT',
  ]);
  const unipile = new UnipileApi(unipileBaseUrl(c.UNIPILE_DSN), c.UNIPILE_API_KEY, c.UNIPILE_REQUEST_TIMEOUT);
  const { webhookId, created } = await registerAccountStatusWebhook(
    unipile,
    c.PUBLIC_BASE_URL,
    c.UNIPILE_WEBHOOK_SECRET,
  );
  console.log(
    `${created ? 'created' : 'already registered'}: account_status webhook ${webhookId} → ${c.PUBLIC_BASE_URL}`,
  );
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
