import { UnipileSimulator } from '../../src/simulator/unipile-simulator';
import { registerAccountStatusWebhook } from '../../src/unipile/register-webhook';
import { UnipileApi } from '../../src/unipile/unipile-api';

describe('npm run unipile:register-webhook', () => {
  const sim = new UnipileSimulator({ apiKey: 'key' });
  let unipile: UnipileApi;
  beforeAll(async () => {
    unipile = new UnipileApi(await sim.start(), 'key', 2000);
  });
  afterAll(() => sim.stop());

  test('creates the account_status webhook with the secret header and JSON content type, once', async () => {
    const first = await registerAccountStatusWebhook(unipile, 'https://keeper.example.com/', 'shh');
    expect(first.created).toBe(true);
    const second = await registerAccountStatusWebhook(unipile, 'https://keeper.example.com', 'shh');
    expect(second).toEqual({ webhookId: first.webhookId, created: false });
    const hooks = [...sim.webhooks.values()];
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({
      source: 'account_status',
      request_url: 'https://keeper.example.com/webhooks/unipile/account-status',
      headers: [
        { key: 'Unipile-Auth', value: 'shh' },
        { key: 'Content-Type', value: 'application/json' },
      ],
    });
  });
});
