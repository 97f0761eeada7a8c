// npm run unipile:register-webhook: creates (once) the account_status webhook at Unipile pointing at this service.
import { configSchema, unipileBaseUrl } from '../config';
import { registerAccountStatusWebhook } from '../unipile/register-webhook';
import { UnipileApi } from '../unipile/unipile-api';

async function main(): Promise<void> {
  const parsed = configSchema
    .pick({
      UNIPILE_DSN: true,
      UNIPILE_API_KEY: true,
      PUBLIC_BASE_URL: true,
      UNIPILE_WEBHOOK_SECRET: true,
      UNIPILE_REQUEST_TIMEOUT: true,
    })
    .safeParse(process.env);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; '));
  const c = parsed.data;
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
