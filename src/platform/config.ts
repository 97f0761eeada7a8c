import { z } from 'zod';
import { DEFAULT_TASK_QUEUE } from '../workflows/task-queues';
import { type RecoveryPolicy } from '../workflows/account/contract';
import { KEY_ID_PATTERN } from './cipher';

/** Parses durations written like `500ms`, `90s`, `5m`, `1h`, `2d` into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration (write it like 90s, 5m or 1h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(match[1]) * unit);
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return parseDuration(text);
      } catch (err) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
        return z.NEVER;
      }
    });

const required = z.string({ required_error: 'is required' }).trim().min(1, 'is required');

const url = required.refine((v) => /^https?:\/\/[^\s]+$/.test(v), 'must be an http(s) URL');

/** A shared secret or bearer token: short ones can be guessed, so fewer than 16 characters is refused at start. */
const SECRET_MIN = 16;
const secret = required.refine((v) => v.length >= SECRET_MIN, `must be at least ${SECRET_MIN} characters`);
const optionalSecret = z
  .string()
  .refine((v) => v.length >= SECRET_MIN, `must be at least ${SECRET_MIN} characters`)
  .optional();

/** localhost, 127.0.0.0/8 or ::1: a receiver on this machine, which plain http does not expose to the network. */
export function isLoopbackUrl(text: string): boolean {
  const host = new URL(text).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `keyId:base64` pairs separated by commas, each key 32 bytes; the first one encrypts new cookies. */
const encryptionKeys = required.transform((text, ctx) => {
  const keys: { id: string; key: Buffer }[] = [];
  for (const part of text.split(',')) {
    const [id, b64] = part.trim().split(':');
    const key = b64 ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (!id || key.length !== 32) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be keyId:base64 pairs of 32-byte keys' });
      return z.NEVER;
    }
    // Key ids are written into ciphertexts between dots, and each must name one key.
    if (!KEY_ID_PATTERN.test(id) || keys.some((k) => k.id === id)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `key ids must be unique and match ${KEY_ID_PATTERN} (got "${id.slice(0, 40)}")`,
      });
      return z.NEVER;
    }
    keys.push({ id, key });
  }
  return keys;
});

/** `apiNN.unipile.com:PORT` means https; a full URL (the simulator) is used as given. */
export function unipileBaseUrl(dsn: string): string {
  return /^https?:\/\//.test(dsn) ? dsn.replace(/\/+$/, '') : `https://${dsn}`;
}

export const configSchema = z.object({
  DATABASE_URL: required.describe('PostgreSQL connection string'),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233').describe('Temporal frontend host:port'),
  TEMPORAL_NAMESPACE: z.string().default('default').describe('Temporal namespace'),
  TEMPORAL_TLS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe('Connect to Temporal over TLS (on by itself when TEMPORAL_API_KEY is set)'),
  TEMPORAL_API_KEY: z.string().optional().describe('API key for Temporal Cloud (optional)'),
  TEMPORAL_TASK_QUEUE: z
    .string()
    .default(DEFAULT_TASK_QUEUE)
    .describe('Task queue of the account workers (Unipile calls use <queue>-unipile)'),
  UNIPILE_DSN: required.describe('Unipile workspace host (apiNN.unipile.com:PORT) or a full URL'),
  UNIPILE_API_KEY: required.describe('Unipile access token (X-API-KEY)'),
  PUBLIC_BASE_URL: url.describe('Public URL of this API, used in links, notify_url and webhooks'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port of the API'),
  API_TOKEN: secret.describe('Bearer token of the backend API (at least 16 characters)'),
  UNIPILE_WEBHOOK_SECRET: secret.describe('Value Unipile sends in the Unipile-Auth header (at least 16 characters)'),
  SIGNING_SECRET: secret.describe('HMAC secret for tokens in links and callbacks (at least 16 characters)'),
  COOKIE_ENCRYPTION_KEY: encryptionKeys.describe('keyId:base64 pairs (32-byte keys) for cookie encryption'),
  SMTP_URL: required.describe('nodemailer SMTP URL (smtp://user:pass@host:587); file:///dir writes .eml files'),
  MAIL_FROM: required.describe('From address of emails'),
  RECONNECT_RETRY_INTERVAL: duration('1h').describe('Time between automatic recovery attempts'),
  RECONNECT_MAX_RETRIES: z.coerce.number().int().min(0).default(4).describe('Retries after the first attempt'),
  COOKIE_STALE_AFTER: duration('24h').describe('Age after which the extension cookie counts as stale'),
  REMINDER_SCHEDULE: z
    .string()
    .default('24h,72h')
    .transform((text, ctx) => {
      try {
        return text.trim() === '' ? [] : text.split(',').map((part) => parseDuration(part));
      } catch (err) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
        return z.NEVER;
      }
    })
    .describe('Reminder emails, as delays after the first email'),
  EMAIL_SEND_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .default(20)
    .describe('Tries of one email send (backoff doubling to 5 minutes); then it is sent again a retry interval later'),
  EMAIL_RETRY_INTERVAL: duration('5s').describe('First backoff between two tries of one email send'),
  EMAIL_SEND_TIMEOUT: duration('1m').describe(
    'Longest one email send may take; a send claimed 1.5× this long ago (its worker died) is sent again',
  ),
  EMAIL_SETTLE: duration('2m').describe(
    "How long an incident's first email waits after the incident opens, so that a provider-wide burst is detected before its first failures are emailed; an account that recovers meanwhile gets none",
  ),
  PROVIDER_INCIDENT_MIN_ACCOUNTS: z.coerce
    .number()
    .int()
    .min(1)
    .default(20)
    .describe(
      'A provider incident opens when at least this many accounts of one provider (and PROVIDER_INCIDENT_SHARE of them) open an incident within PROVIDER_INCIDENT_WINDOW',
    ),
  PROVIDER_INCIDENT_SHARE: z.coerce
    .number()
    .gt(0)
    .max(100)
    .default(20)
    .describe(
      "Percentage of a provider's watched accounts that must open an incident within PROVIDER_INCIDENT_WINDOW for a provider incident to open; it closes once fewer than half this share are broken for a whole window",
    ),
  PROVIDER_INCIDENT_WINDOW: duration('10m').describe(
    'The window over which account incidents are counted to open a provider incident, and how long the broken share must stay below half the threshold to close it',
  ),
  PROVIDER_INCIDENT_MAX_HOLD: duration('6h').describe(
    'A provider incident closes by itself after this long, whatever the counts (held emails then go out)',
  ),
  PROVIDER_INCIDENT_CHECK_INTERVAL: duration('15s').describe(
    "How often the providers' account states are evaluated for provider incidents (workflow provider-incidents)",
  ),
  PROVIDER_HOLD_RECHECK: duration('15m').describe(
    'How often an email held by a provider incident asks again whether the incident is still open (closing one wakes its held accounts at once; this is the safety net)',
  ),
  CONNECT_RETRY_INTERVAL: duration('1h').describe(
    'Minimum time between two cookie connections of one row, and between two reconnects of one account triggered by new extension cookies during an incident (the first is at once; a newer cookie waits for the next slot)',
  ),
  CHECKPOINT_TIMEOUT: duration('5m').describe('How long a checkpoint (or a connection step) waits for its code'),
  CONNECTION_POLL_INTERVAL: duration('5s').describe(
    'How often a connection waiting for a QR scan or an in-app validation asks Unipile whether it is done',
  ),
  CONNECTION_SWEEP_INTERVAL: duration('1m').describe(
    'How often each worker erases the secrets of connections that are over or abandoned (pending past CHECKPOINT_TIMEOUT, workflow not running)',
  ),
  HOSTED_LINK_TTL: duration('1h').describe('Expiry of hosted-auth links'),
  HOSTED_LINK_REUSE: duration('10m').describe(
    "How long the reconnect page (email links) hands out the same hosted link of an account instead of asking Unipile for another (never past the link's expiry, never once used; Unipile's daily restart ends links early, so keep it short; 0s: a new link per click)",
  ),
  RECONNECT_PAGE_RATE_LIMIT: z.coerce
    .number()
    .int()
    .min(0)
    .default(10)
    .describe(
      'Reconnect page opens per minute per account with a valid link, per API process (4× per address; 0: no limit); over it, 429',
    ),
  RECONCILE_INTERVAL: duration('1h').describe(
    "How often Unipile's account list is compared with ours (Temporal Schedule reconcile-accounts)",
  ),
  RECONCILE_GRACE: duration('10m').describe(
    'An account missing from a complete listing is DELETED only after Unipile answers 404 for it in two runs at least this far apart; one never listed must also be older than this (a new account may not be listed yet)',
  ),
  RECONCILE_MAX_DELETIONS: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'A reconciliation run with more accounts missing than this deletes none and is held until POST /api/reconcile/confirm (default: 10 or 1 % of the accounts, whichever is larger)',
    ),
  UNIPILE_MAX_RPS: z.coerce.number().positive().default(5).describe('Unipile calls per second across all workers'),
  UNIPILE_API_MAX_RPS: z.coerce
    .number()
    .positive()
    .default(5)
    .describe(
      "Unipile calls per second one API process makes on users' behalf (hosted links, account reads, deletions); over it, 429 rate_limited with Retry-After. Per process: N API processes allow N×",
    ),
  UNIPILE_API_BURST: z.coerce
    .number()
    .int()
    .min(1)
    .default(20)
    .describe('Unipile calls one API process may make at once after a quiet spell, within UNIPILE_API_MAX_RPS'),
  UNIPILE_REQUEST_TIMEOUT: duration('30s').describe('Timeout of one Unipile HTTP call'),
  INBOX_RELAY_INTERVAL: duration('5s').describe(
    'How often the API sweeps for stored events not forwarded when they arrived (Temporal down, a crash)',
  ),
  FORWARD_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .default(32)
    .describe('Accounts whose events one API process forwards to Temporal at once'),
  FORWARDER_PLACEMENT: z
    .enum(['api', 'worker'])
    .default('api')
    .describe(
      'Which processes forward stored events to Temporal, woken by PostgreSQL LISTEN/NOTIFY and sweeping every INBOX_RELAY_INTERVAL: api (in the API, beside the answers) or worker (in the workers, so the API only stores and notifies); FORWARD_CONCURRENCY and RECEIPT_RETENTION apply there. With the embedded database everything runs in one process and this is ignored',
    ),
  RECEIPT_MAX_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe('Refusals by Temporal before a stored event is parked as dead (unreachable: retried forever)'),
  RECEIPT_RETRY_MAX_DELAY: duration('30s').describe('Longest backoff between two tries of one stored event'),
  RECEIPT_RETENTION: duration('30d').describe(
    'How long forwarded events stay in webhook_receipts (dead and pending ones are kept until handled)',
  ),
  TRUST_PROXY: z
    .string()
    .min(1)
    .default('loopback')
    .describe(
      "Which peers' X-Forwarded-For is believed (Express `trust proxy`: loopback, a hop count, or addresses/CIDRs, comma-separated); the client address it gives is rate-limited and, when the extension sends no ip, stored as the LinkedIn session's IP if public",
    ),
  WEBHOOK_RATE_LIMIT: z.coerce
    .number()
    .int()
    .min(0)
    .default(20_000)
    .describe('Webhook calls per minute from one source address, per API process (0: no limit); over it, 429'),
  EXTENSION_RATE_LIMIT: z.coerce
    .number()
    .int()
    .min(0)
    .default(30)
    .describe('Cookie posts per minute per extension token, per API process (0: no limit); over it, 429'),
  EXTENSION_TOKEN_TTL: duration('90d').describe(
    'Lifetime of an extension token from its creation; past it the token gets 401 and the extension asks to pair again',
  ),
  MAX_LINKEDIN_MEMBERS_PER_USER: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe('Different LinkedIn members one user may send cookies for; a new one past it is refused (409)'),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Account workflows kept in worker memory (default: sized from the heap by the SDK)'),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce
    .number()
    .int()
    .min(1)
    .default(40)
    .describe('Workflow tasks one worker runs at once'),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce
    .number()
    .int()
    .min(1)
    .default(100)
    .describe('Activities one worker runs at once, per task queue'),
  WORKER_REUSE_V8_CONTEXT: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe(
      'Whether the worker runs every cached workflow in one shared V8 context (true, the SDK default: less memory per cached workflow) or one context each (false)',
    ),
  WORKER_STICKY_SCHEDULE_TO_START_TIMEOUT: duration('10s').describe(
    "How long a workflow task waits for the worker that has its workflow cached before any worker takes it (and replays the history); the SDK's default",
  ),
  BACKEND_WEBHOOK_URL: z
    .string()
    .url()
    .refine((v) => /^https?:\/\//.test(v), 'must be an http(s) URL')
    .optional()
    .describe(
      'Where account events are POSTed, signed (unset: no events are pushed); https when NODE_ENV=production unless on loopback (localhost, 127.x, ::1); a redirect is a failure, never followed',
    ),
  BACKEND_WEBHOOK_SECRET: optionalSecret.describe(
    'HMAC secret of the Keeper-Signature header (required with BACKEND_WEBHOOK_URL; at least 16 characters)',
  ),
  BACKEND_WEBHOOK_RETRY_FOR: duration('24h').describe(
    'How long an event the backend does not accept is retried (with backoff up to 1h) before it is parked',
  ),
  METRICS_TOKEN: optionalSecret.describe(
    "Bearer token /metrics then requires (at least 16 characters); unset: /metrics is open, so set it when the API's port is reachable by anyone but your scraper",
  ),
  OPS_CACHE_TTL: duration('5s').describe(
    "How long /readyz's checks and /metrics' database figures are reused: any number of requests costs at most one round of queries per period",
  ),
  NODE_ENV: z
    .string()
    .optional()
    .describe('production (the Docker image and the systemd units set it): BACKEND_WEBHOOK_URL must then be https'),
  WORKER_METRICS_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .optional()
    .describe("Port of the worker's Prometheus endpoint: the Temporal SDK's metrics and recovery attempts and emails"),
  WORKER_METRICS_HOST: z
    .string()
    .ip()
    .default('127.0.0.1')
    .describe(
      "Address the worker's Prometheus endpoint listens on (it has no authentication: 0.0.0.0 only behind a firewall)",
    ),
  LOG_FORMAT: z
    .enum(['json', 'pretty'])
    .optional()
    .describe('Log lines: pretty when stdout is a terminal, JSON otherwise; json forces JSON'),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('pino log level'),
});

export type Config = z.infer<typeof configSchema>;

/** Connection options shared by the API's client, the workers and the set-up scripts. */
export function temporalConnectionOptions(
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_TLS' | 'TEMPORAL_API_KEY'>,
) {
  const apiKey = config.TEMPORAL_API_KEY || undefined;
  return { address: config.TEMPORAL_ADDRESS, tls: config.TEMPORAL_TLS || !!apiKey, ...(apiKey ? { apiKey } : {}) };
}

export class ConfigError extends Error {}

function describeIssues(error: z.ZodError): string {
  return `Invalid configuration: ${error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}`;
}

/** Validates the environment once; the message names every missing or malformed value, never their contents. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) throw new ConfigError(describeIssues(result.error));
  if (result.data.BACKEND_WEBHOOK_URL && !result.data.BACKEND_WEBHOOK_SECRET) {
    throw new ConfigError('BACKEND_WEBHOOK_SECRET: is required when BACKEND_WEBHOOK_URL is set');
  }
  // Signed events carry account data: in production they travel over TLS, unless the receiver is on this machine.
  const hook = result.data.BACKEND_WEBHOOK_URL;
  if (hook && result.data.NODE_ENV === 'production' && !hook.startsWith('https://') && !isLoopbackUrl(hook)) {
    throw new ConfigError(
      'Invalid configuration: BACKEND_WEBHOOK_URL must be https in production (http only to localhost, 127.x or ::1)',
    );
  }
  return result.data;
}

type ConfigKey = keyof typeof configSchema.shape;

/** Validates only the settings a command needs (scripts that touch one service), with the same messages. */
export function loadConfigPart<K extends ConfigKey>(keys: K[], env: NodeJS.ProcessEnv = process.env): Pick<Config, K> {
  const mask = Object.fromEntries(keys.map((k) => [k, true])) as Partial<Record<ConfigKey, true>>;
  const result = configSchema.pick(mask).safeParse(env);
  if (result.success) return result.data as Pick<Config, K>;
  throw new ConfigError(describeIssues(result.error));
}

/** Where account workflows run and the recovery timings they start with: what every forwarder needs. */
export function accountSettings(config: Config) {
  return {
    ...temporalConnectionOptions(config),
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    policy: recoveryPolicy(config),
  };
}

/** The recovery timings handed to account workflows, in milliseconds. */
export function recoveryPolicy(config: Config): RecoveryPolicy {
  return {
    retryIntervalMs: config.RECONNECT_RETRY_INTERVAL,
    maxRetries: config.RECONNECT_MAX_RETRIES,
    reminderScheduleMs: config.REMINDER_SCHEDULE,
    cookieStaleAfterMs: config.COOKIE_STALE_AFTER,
    emailSendAttempts: config.EMAIL_SEND_ATTEMPTS,
    emailRetryInitialMs: config.EMAIL_RETRY_INTERVAL,
    emailSendTimeoutMs: config.EMAIL_SEND_TIMEOUT,
    // One Unipile call cannot outlive its own timeout: past it (a worker that died mid-call) the try is retried.
    unipileCallTimeoutMs: config.UNIPILE_REQUEST_TIMEOUT + 5000,
    cookieReconnectIntervalMs: config.CONNECT_RETRY_INTERVAL,
    emailSettleMs: config.EMAIL_SETTLE,
    providerHoldRecheckMs: config.PROVIDER_HOLD_RECHECK,
  };
}
