import {
  ConfigError,
  loadConfig,
  parseDuration,
  temporalConnectionOptions,
  unipileBaseUrl,
} from '../../src/platform/config';

const base = {
  DATABASE_URL: 'postgres://localhost/x',
  UNIPILE_DSN: 'api8.unipile.com:13851',
  UNIPILE_API_KEY: 'key',
  PUBLIC_BASE_URL: 'https://accounts.example.com',
  API_TOKEN: 'token-0123456789abcdef',
  UNIPILE_WEBHOOK_SECRET: 'whsecret-0123456789',
  SIGNING_SECRET: 'signing-0123456789',
  COOKIE_ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
  SMTP_URL: 'smtp://localhost:25',
  MAIL_FROM: 'a@example.com',
};

describe('configuration', () => {
  test('durations', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(() => parseDuration('soon')).toThrow('not a duration');
  });

  test('defaults are the documented ones (docs/CONFIGURATION.md)', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'unipile-accounts',
      PORT: 3000,
      RECONNECT_RETRY_INTERVAL: 3_600_000,
      RECONNECT_MAX_RETRIES: 4,
      COOKIE_STALE_AFTER: 86_400_000,
      REMINDER_SCHEDULE: [86_400_000, 259_200_000],
      CONNECT_RETRY_INTERVAL: 3_600_000,
      CHECKPOINT_TIMEOUT: 300_000,
    });
    expect(c.COOKIE_ENCRYPTION_KEY).toEqual([{ id: 'k1', key: Buffer.alloc(32, 1) }]);
  });

  test('one message names every missing or malformed value, never a value', () => {
    let message = '';
    try {
      loadConfig({
        ...base,
        API_TOKEN: '',
        SMTP_URL: undefined,
        RECONNECT_RETRY_INTERVAL: 'often',
        COOKIE_ENCRYPTION_KEY: 'k1:c2hvcnQ=',
      });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    for (const name of ['API_TOKEN', 'SMTP_URL', 'RECONNECT_RETRY_INTERVAL', 'COOKIE_ENCRYPTION_KEY'])
      expect(message).toContain(name);
    expect(message).not.toContain('c2hvcnQ=');
  });

  test('cookie key ids must be unique and free of dots (they are written into ciphertexts)', () => {
    const key = Buffer.alloc(32, 2).toString('base64');
    expect(() => loadConfig({ ...base, COOKIE_ENCRYPTION_KEY: `k1:${key},k1:${key}` })).toThrow(/must be unique/);
    expect(() => loadConfig({ ...base, COOKIE_ENCRYPTION_KEY: `k.1:${key}` })).toThrow(/must be unique/);
    expect(loadConfig({ ...base, COOKIE_ENCRYPTION_KEY: `k2:${key},k1:${key}` }).COOKIE_ENCRYPTION_KEY).toHaveLength(2);
  });

  test('the DSN means https unless a full URL is given', () => {
    expect(unipileBaseUrl('api8.unipile.com:13851')).toBe('https://api8.unipile.com:13851');
    expect(unipileBaseUrl('http://127.0.0.1:4010/')).toBe('http://127.0.0.1:4010');
  });

  test('Temporal Cloud: an API key turns TLS on', () => {
    expect(temporalConnectionOptions(loadConfig(base))).toEqual({ address: '127.0.0.1:7233', tls: false });
    expect(
      temporalConnectionOptions(
        loadConfig({ ...base, TEMPORAL_API_KEY: 'k', TEMPORAL_ADDRESS: 'ns.tmprl.cloud:7233' }),
      ),
    ).toEqual({
      address: 'ns.tmprl.cloud:7233',
      tls: true,
      apiKey: 'k',
    });
    expect(temporalConnectionOptions(loadConfig({ ...base, TEMPORAL_TLS: 'true' })).tls).toBe(true);
  });

  test('secrets shorter than 16 characters are refused, each named, never shown', () => {
    const short = {
      API_TOKEN: 'tok-abc',
      UNIPILE_WEBHOOK_SECRET: 'w'.repeat(15),
      SIGNING_SECRET: 's1',
      BACKEND_WEBHOOK_URL: 'https://backend.example.com/events',
      BACKEND_WEBHOOK_SECRET: 'b-short',
      METRICS_TOKEN: 'm-short',
    };
    let message = '';
    try {
      loadConfig({ ...base, ...short });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    for (const [name, value] of Object.entries(short)) {
      if (name === 'BACKEND_WEBHOOK_URL') continue;
      expect(message).toMatch(new RegExp(`${name} must be at least 16 characters`));
      expect(message).not.toContain(value);
    }
    // 16 is enough.
    const sixteen = 'x'.repeat(16);
    const c = loadConfig({
      ...base,
      API_TOKEN: sixteen,
      UNIPILE_WEBHOOK_SECRET: sixteen,
      SIGNING_SECRET: sixteen,
      METRICS_TOKEN: sixteen,
    });
    expect(c.METRICS_TOKEN).toBe(sixteen);
  });

  test('in production the backend webhook must be https unless it is on this machine', () => {
    const hook = (url: string, NODE_ENV?: string) => () =>
      loadConfig({ ...base, NODE_ENV, BACKEND_WEBHOOK_URL: url, BACKEND_WEBHOOK_SECRET: 'b'.repeat(16) });
    expect(hook('http://backend.example.com/events', 'production')).toThrow(
      /BACKEND_WEBHOOK_URL must be https in production/,
    );
    expect(hook('http://10.0.0.5:8080/events', 'production')).toThrow(/BACKEND_WEBHOOK_URL must be https/);
    expect(hook('https://backend.example.com/events', 'production')).not.toThrow();
    for (const local of ['http://127.0.0.1:8080/e', 'http://localhost:8080/e', 'http://[::1]:8080/e'])
      expect(hook(local, 'production')).not.toThrow();
    // Outside production (development, tests) http anywhere is allowed; other schemes never are.
    expect(hook('http://backend.example.com/events')).not.toThrow();
    expect(hook('ftp://backend.example.com/events')).toThrow(/BACKEND_WEBHOOK_URL must be an http\(s\) URL/);
  });
});
