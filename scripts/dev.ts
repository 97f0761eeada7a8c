// npm run dev: the whole product on one machine. Uses what the environment sets and starts a stand-in for each
// outside service that is unset: a Temporal dev server, the Unipile simulator, an outbox folder for emails.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startApi } from '../src/api/server';
import { keeperSignature } from '../src/backend-events/sender';
import { loadConfig, loadConfigPart, temporalConnectionOptions, type Config } from '../src/platform/config';
import { createDb, ensureDatabase, migrateLatest } from '../src/platform/db';
import { createMailer } from '../src/email/mailer';
import { createLogger } from '../src/platform/logger';
import { UnipileSimulator } from '../src/simulator/unipile-simulator';
import { registerSearchAttributes } from '../src/platform/temporal-client';
import { registerAccountStatusWebhook } from '../src/unipile/register-webhook';
import { UnipileApi } from '../src/unipile/unipile-api';
import { createAccountWorkers, installRuntime, runWorkers } from '../src/worker/main';
import { portIsFree, stopProcess } from './toolkit/processes';
import { startTemporalDevServer } from './toolkit/temporal';

const ROOT = resolve(__dirname, '..');
const DATA = resolve(ROOT, '.data');
const SIMULATOR_PORT = Number(process.env.SIMULATOR_PORT ?? 4010);
const TEMPORAL_PORT = 7233;
const TEMPORAL_UI_PORT = 8233;
const EVENTS_DIR = resolve(DATA, 'events');
const OUTBOX = resolve(DATA, 'outbox');

/** Secrets generated once and kept in .data/, so links and tokens stay valid across restarts. */
function devSecrets(): Record<string, string> {
  const file = resolve(DATA, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  const secrets = {
    API_TOKEN: `dev-${randomBytes(18).toString('base64url')}`,
    UNIPILE_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
    SIGNING_SECRET: randomBytes(32).toString('base64url'),
    COOKIE_ENCRYPTION_KEY: `dev1:${randomBytes(32).toString('base64')}`,
    SIMULATOR_API_KEY: `sim-${randomBytes(18).toString('base64url')}`,
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/** A stand-in for the customer's backend: checks Keeper-Signature and writes each event as a JSON file. */
async function startEventsFolder(dir: string, secret: string): Promise<{ url: string; stop: () => Promise<void> }> {
  mkdirSync(dir, { recursive: true });
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      // Signed as the sender signs: recompute the header for the timestamp it carries.
      const header = String(req.headers['keeper-signature'] ?? '');
      const t = Number(/t=(\d+)/.exec(header)?.[1] ?? NaN);
      if (!Number.isFinite(t) || header !== keeperSignature(secret, raw, t * 1000)) {
        res.writeHead(401).end();
        return;
      }
      const event = JSON.parse(raw) as { id: string; type: string };
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${event.type}.json`;
      writeFileSync(resolve(dir, name), JSON.stringify(event, null, 2));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

type Stop = () => Promise<void>;

/** Secrets and settings a developer has not set: the generated secrets (named in the banner) and local defaults. */
function applyDefaults(env: NodeJS.ProcessEnv, secrets: Record<string, string>): string[] {
  const generated: string[] = [];
  for (const key of ['API_TOKEN', 'UNIPILE_WEBHOOK_SECRET', 'SIGNING_SECRET', 'COOKIE_ENCRYPTION_KEY'] as const) {
    if (!env[key]) {
      env[key] = secrets[key];
      generated.push(key);
    }
  }
  env.PORT ??= '3000';
  env.PUBLIC_BASE_URL ??= `http://localhost:${env.PORT}`;
  env.MAIL_FROM ??= 'Account keeper <accounts@localhost>';
  // On a developer's machine a burst of failures is the simulator's: an incident's first email waits seconds, not
  // the two minutes production gives a provider-wide burst to be detected.
  env.EMAIL_SETTLE ??= '5s';
  return generated;
}

/** DATABASE_URL as given (created when missing), or an embedded PGlite in .data/pglite shared by API and worker. */
async function prepareDatabase(env: NodeJS.ProcessEnv): Promise<void> {
  if (!env.DATABASE_URL) {
    env.DATABASE_URL = `pglite://${resolve(DATA, 'pglite')}`;
    // PGlite runs one query at a time, on this process's own thread: more forwards at once only queue in front of
    // the webhooks' inserts (1,000 ERROR webhooks at once: p99 31 s at 32, 3–4 s at 2; docs/BENCHMARKS.md).
    env.FORWARD_CONCURRENCY ??= '2';
  }
  await ensureDatabase(env.DATABASE_URL);
}

/** TEMPORAL_ADDRESS as given, or a dev server persisted in .data/ with its UI; returns the UI's address. */
async function prepareTemporal(env: NodeJS.ProcessEnv, stops: Stop[]): Promise<{ ui: string; added: string[] }> {
  let ui = '(your Temporal UI)';
  if (!env.TEMPORAL_ADDRESS) {
    if (!(await portIsFree(TEMPORAL_PORT)))
      throw new Error(`port ${TEMPORAL_PORT} is taken: stop what listens there, or set TEMPORAL_ADDRESS`);
    env.TEMPORAL_ADDRESS = `127.0.0.1:${TEMPORAL_PORT}`;
    const server = await startTemporalDevServer({
      port: TEMPORAL_PORT,
      uiPort: TEMPORAL_UI_PORT,
      dbFile: resolve(DATA, 'temporal.db'),
      searchAttributes: false,
      timeoutMs: 90_000,
    });
    stops.push(() => stopProcess(server));
    ui = `http://localhost:${TEMPORAL_UI_PORT}`;
  }
  const settings = loadConfigPart(['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TLS', 'TEMPORAL_API_KEY'], env);
  const admin = await Connection.connect(temporalConnectionOptions(settings));
  try {
    return { ui, added: await registerSearchAttributes(admin, settings.TEMPORAL_NAMESPACE) };
  } finally {
    await admin.close();
  }
}

/** UNIPILE_DSN as given, or the simulator with its state in .data/. */
async function prepareUnipile(
  env: NodeJS.ProcessEnv,
  secrets: Record<string, string>,
  stops: Stop[],
): Promise<UnipileSimulator | undefined> {
  if (env.UNIPILE_DSN) return undefined;
  env.UNIPILE_API_KEY = secrets.SIMULATOR_API_KEY;
  const sim = new UnipileSimulator({
    apiKey: env.UNIPILE_API_KEY!,
    port: SIMULATOR_PORT,
    stateFile: resolve(DATA, 'simulator-state.json'),
  });
  env.UNIPILE_DSN = await sim.start();
  stops.push(() => sim.stop());
  return sim;
}

/**
 * BACKEND_WEBHOOK_URL as given, or a local receiver that checks each signature and writes the event to
 * .data/events/, so a developer sees what their backend would get. Emails: SMTP_URL as given, or .eml files.
 */
async function prepareOutlets(env: NodeJS.ProcessEnv, secrets: Record<string, string>, stops: Stop[]): Promise<void> {
  if (!env.BACKEND_WEBHOOK_URL) {
    env.BACKEND_WEBHOOK_SECRET = secrets.BACKEND_WEBHOOK_SECRET ??= randomBytes(24).toString('base64url');
    const receiver = await startEventsFolder(EVENTS_DIR, env.BACKEND_WEBHOOK_SECRET);
    env.BACKEND_WEBHOOK_URL = receiver.url;
    stops.push(receiver.stop);
  }
  if (!env.SMTP_URL) env.SMTP_URL = pathToFileURL(OUTBOX).toString();
}

/** The worker and the API in this process, on the database migrated to the latest. */
async function startProduct(
  config: Config,
  stops: Stop[],
): Promise<{ applied: string[]; workersDone: Promise<unknown> }> {
  const db = createDb(config.DATABASE_URL);
  stops.push(() => db.destroy());
  const applied = await migrateLatest(db);
  const logger = createLogger(config.LOG_LEVEL, 'dev');
  installRuntime(logger, config.WORKER_METRICS_PORT, config.WORKER_METRICS_HOST);
  const workerConnection = await NativeConnection.connect(temporalConnectionOptions(config));
  const mailer = createMailer(config.SMTP_URL, config.EMAIL_SEND_TIMEOUT);
  const workers = await createAccountWorkers({ config, connection: workerConnection, db, mailer, logger });
  const workersDone = runWorkers(workers);
  stops.push(async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await workersDone;
    await workerConnection.close();
  });
  const api = await startApi(config, { logger, db });
  stops.push(() => api.stop());
  return { applied, workersDone };
}

interface Started {
  config: Config;
  env: NodeJS.ProcessEnv;
  temporalUi: string;
  added: string[];
  simulated: boolean;
  applied: string[];
  generated: string[];
}

function banner({ config, env, temporalUi, added, simulated, applied, generated }: Started): string {
  const base = config.PUBLIC_BASE_URL;
  const auth = `-H "Authorization: Bearer ${config.API_TOKEN}"`;
  return `
Unipile account keeper is running.

  API             ${base}
  Landing page    ${base}/connect/done?token=… (the wizard redirects there)
  Temporal UI     ${temporalUi}   (filter: AccountStatus="CREDENTIALS")
  Temporal        ${config.TEMPORAL_ADDRESS}${added.length ? ` (registered ${added.join(', ')})` : ''}
  Unipile         ${config.UNIPILE_DSN}${simulated ? '   (simulator)' : ''}
  Backend events  ${env.BACKEND_WEBHOOK_URL?.startsWith('http://127.0.0.1:') ? `${EVENTS_DIR} (signed, checked, one JSON file each)` : env.BACKEND_WEBHOOK_URL}
  Emails          ${config.SMTP_URL.startsWith('file://') ? OUTBOX : config.SMTP_URL.replace(/\/\/[^@]*@/, '//')}
  Database        ${config.DATABASE_URL.replace(/\/\/[^@]*@/, '//')}${config.DATABASE_URL.startsWith('pglite:') ? ' (embedded)' : ''}${applied.length ? ` (migrated: ${applied.join(', ')})` : ''}
${generated.length ? `\nGenerated for development (kept in .data/dev-secrets.json): ${generated.join(', ')}\n  API_TOKEN=${config.API_TOKEN}\n` : ''}
Try it:
  1. curl -X PUT ${base}/api/users/alice ${auth} -H 'Content-Type: application/json' -d '{"email":"alice@example.com","name":"Alice"}'
  2. curl -X POST ${base}/api/users/alice/connect-link ${auth}
     then open the "url" it returns and press Connect: the landing page lists the account.
  3. curl ${base}/api/users/alice/accounts ${auth}
     gives its accountId; break it as Unipile would:
     curl -X POST ${base}/webhooks/unipile/account-status -H "Unipile-Auth: ${config.UNIPILE_WEBHOOK_SECRET}" \\
       -H 'Content-Type: application/json' -d '{"AccountStatus":{"account_id":"<accountId>","account_type":"GOOGLE_OAUTH","message":"CREDENTIALS"}}'
     and the reconnect email appears in ${config.SMTP_URL.startsWith('file://') ? OUTBOX : 'your mailbox'}.
  4. The browser extension: npm run extension:build, load extension/dist unpacked in Chrome or Chromium, paste
     ${base} and the token from
     curl -X POST ${base}/api/users/alice/extension-token ${auth}
     on its options page, then open linkedin.com signed in: the account connects by itself.

Ctrl-C stops everything.`;
}

/** The simulator delivers account_status webhooks to this API, with the secret header, as Unipile would. */
async function wireSimulator(config: Config): Promise<void> {
  const local = `http://127.0.0.1:${config.PORT}`;
  const unipile = new UnipileApi(config.UNIPILE_DSN, config.UNIPILE_API_KEY, config.UNIPILE_REQUEST_TIMEOUT);
  await registerAccountStatusWebhook(unipile, local, config.UNIPILE_WEBHOOK_SECRET);
}

async function main(): Promise<void> {
  mkdirSync(DATA, { recursive: true });
  const env = process.env;
  const secrets = devSecrets();
  const stops: Stop[] = [];
  const generated = applyDefaults(env, secrets);
  try {
    await prepareDatabase(env);
    const { ui: temporalUi, added } = await prepareTemporal(env, stops);
    const sim = await prepareUnipile(env, secrets, stops);
    await prepareOutlets(env, secrets, stops);
    const config = loadConfig(env);
    const { applied, workersDone } = await startProduct(config, stops);
    if (sim) await wireSimulator(config);
    console.log(banner({ config, env, temporalUi, added, simulated: !!sim, applied, generated }));
    await new Promise<void>((resolveStop) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolveStop());
      void workersDone.then(() => resolveStop());
    });
    console.log('\nstopping…');
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
