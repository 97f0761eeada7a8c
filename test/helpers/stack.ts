import { randomBytes } from 'node:crypto';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import knex, { type Knex } from 'knex';
import { loadConfig, type Config } from '../../src/platform/config';
import { createDb, ensureDatabase, migrateLatest } from '../../src/platform/db';
import { createMailer } from '../../src/email/mailer';
import { startApi, type RunningApi } from '../../src/api/server';
import { createLogger } from '../../src/platform/logger';
import { UnipileSimulator, type Outcome } from '../../src/simulator/unipile-simulator';
import { createAccountWorkers } from '../../src/worker/main';
import { registerAccountStatusWebhook } from '../../src/unipile/register-webhook';
import { UnipileApi } from '../../src/unipile/unipile-api';
import { SmtpPeer } from './smtp-peer';
import { freePort } from './temporal-dev-server';

export const PG_BASE = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';

export interface StackOptions {
  env?: Record<string, string>;
  /** Start the workers now (default) or later with startWorkers(). */
  workers?: boolean;
  temporalAddress?: string;
  /** A PostgreSQL server other than the shared one (a cluster the test owns and stops). */
  pgBase?: string;
}

/** Everything a test talks to, all real: PostgreSQL, Temporal dev server, SMTP, the simulator over HTTP, the API. */
export class Stack {
  config!: Config;
  env!: Record<string, string>;
  db!: Knex;
  sim!: UnipileSimulator;
  smtp = new SmtpPeer();
  api!: RunningApi;
  client!: Client;
  private clientConnection?: Connection;
  private workerConnection?: NativeConnection;
  private workers: Worker[] = [];
  private workerRuns: Promise<void>[] = [];
  readonly logLines: string[] = [];
  /** Every body the API answered through api$(), to check that no secret is ever returned. */
  readonly responses: string[] = [];
  readonly apiKey = `sim-key-${randomBytes(8).toString('hex')}`;
  readonly databaseName = `test_${randomBytes(6).toString('hex')}`;

  constructor(private readonly options: StackOptions = {}) {}

  private get pgBase(): string {
    return this.options.pgBase ?? PG_BASE;
  }

  async start(): Promise<this> {
    const databaseUrl = `${this.pgBase}/${this.databaseName}`;
    await ensureDatabase(databaseUrl);
    this.sim = new UnipileSimulator({ apiKey: this.apiKey, webhookRetryDelayMs: 200 });
    const simUrl = await this.sim.start();
    const smtpUrl = await this.smtp.start();
    const port = await freePort();
    const taskQueue = `test-${randomBytes(6).toString('hex')}`;
    const env: Record<string, string> = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: this.options.temporalAddress ?? process.env.TEST_TEMPORAL_ADDRESS!,
      TEMPORAL_TASK_QUEUE: taskQueue,
      UNIPILE_DSN: simUrl,
      UNIPILE_API_KEY: this.apiKey,
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      PORT: String(port),
      API_TOKEN: 'test-api-token-0123456789', // secrets are at least 16 characters
      UNIPILE_WEBHOOK_SECRET: 'test-webhook-secret',
      SIGNING_SECRET: 'test-signing-secret',
      COOKIE_ENCRYPTION_KEY: `k1:${randomBytes(32).toString('base64')}`,
      SMTP_URL: smtpUrl,
      MAIL_FROM: 'Accounts <accounts@example.test>',
      RECONNECT_RETRY_INTERVAL: '2s',
      RECONNECT_MAX_RETRIES: '2',
      REMINDER_SCHEDULE: '3s,6s',
      // First emails go out as soon as they are due, as before the settle existed; the suites about provider
      // incidents and the settle set their own. A suite's accounts failing together must not open a provider
      // incident that holds the emails it counts, unless the suite is about that.
      EMAIL_SETTLE: '0s',
      PROVIDER_INCIDENT_MIN_ACCOUNTS: '100000',
      UNIPILE_REQUEST_TIMEOUT: '5s',
      INBOX_RELAY_INTERVAL: '500ms',
      LOG_LEVEL: 'info',
      // Lets a suite be run again with the forwarding role in the workers (TEST_FORWARDER_PLACEMENT=worker).
      ...(process.env.TEST_FORWARDER_PLACEMENT ? { FORWARDER_PLACEMENT: process.env.TEST_FORWARDER_PLACEMENT } : {}),
      ...this.options.env,
    };
    this.env = env;
    this.config = loadConfig(env);
    this.db = createDb(databaseUrl);
    await migrateLatest(this.db);

    // Logs are captured so tests can check that no secret ever reaches them.
    const logger = createLogger('debug', 'api', { write: (line: string) => void this.logLines.push(line) });
    this.api = await startApi(this.config, { host: '127.0.0.1', logger });

    const unipile = new UnipileApi(simUrl, this.apiKey, 5000);
    await registerAccountStatusWebhook(unipile, this.config.PUBLIC_BASE_URL, this.config.UNIPILE_WEBHOOK_SECRET);

    this.clientConnection = Connection.lazy({ address: this.config.TEMPORAL_ADDRESS });
    this.client = new Client({ connection: this.clientConnection });
    if (this.options.workers !== false) await this.startWorkers();
    return this;
  }

  async startWorkers(): Promise<void> {
    quietRuntime();
    this.workerConnection = await NativeConnection.connect({ address: this.config.TEMPORAL_ADDRESS });
    this.workers = await createAccountWorkers({
      config: this.config,
      connection: this.workerConnection,
      db: this.db,
      mailer: createMailer(this.config.SMTP_URL, this.config.EMAIL_SEND_TIMEOUT),
      workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
    });
    this.workerRuns = this.workers.map((w) => w.run());
  }

  async stopWorkers(): Promise<void> {
    for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(this.workerRuns);
    await this.workerConnection?.close();
    this.workers = [];
  }

  async stop(): Promise<void> {
    await this.stopWorkers();
    await this.api?.stop();
    await this.sim?.stop();
    await this.smtp.stop();
    await this.clientConnection?.close();
    await this.db?.destroy();
    const admin = knex({ client: 'pg', connection: `${this.pgBase}/postgres` });
    await admin.raw('drop database if exists ?? with (force)', [this.databaseName]);
    await admin.destroy();
  }

  /** Calls the backend API with the bearer token. */
  async api$(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${this.api.url}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        authorization: `Bearer ${this.config.API_TOKEN}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    this.responses.push(text);
    let json: any = undefined;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  }

  /** Posts an account_status webhook as Unipile would. */
  postWebhook(
    accountId: string,
    message: string,
    accountType = 'LINKEDIN',
    secret = this.config.UNIPILE_WEBHOOK_SECRET,
  ) {
    return this.api$(
      'POST',
      '/webhooks/unipile/account-status',
      { AccountStatus: { account_id: accountId, message, account_type: accountType } },
      { 'unipile-auth': secret },
    );
  }

  async simApi(method: string, path: string, body?: unknown) {
    const res = await fetch(`${this.sim.url}${path}`, {
      method,
      headers: { 'x-api-key': this.apiKey, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as any };
  }

  script(operation: string, outcomes: Outcome[], accountId?: string): void {
    this.sim.script(operation, outcomes, accountId);
  }

  /** Connects an account through the real hosted-auth flow: connect-link, the simulated wizard, notify_url. */
  async connectViaWizard(userId: string, provider: string): Promise<{ accountId: string; landing: string }> {
    const link = await this.api$('POST', `/api/users/${userId}/connect-link`, { providers: [provider] });
    if (link.status !== 201) throw new Error(`connect-link answered ${link.status}: ${link.text}`);
    const before = new Set(this.sim.accounts.keys());
    const wizard = await fetch(link.json.url);
    if (!(await wizard.text()).includes('Connect')) throw new Error('wizard page has no Connect button');
    const done = await fetch(link.json.url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ provider, name: `${provider} of ${userId}` }),
    });
    const accountId = [...this.sim.accounts.keys()].find((id) => !before.has(id));
    if (!accountId) throw new Error('the wizard created no account');
    return { accountId, landing: done.headers.get('location') ?? '' };
  }

  /** Registers the user (with an email unless null), connects an account and waits until it is OK. */
  async connectedAccount(opts: { userId: string; email?: string | null; provider: string }): Promise<string> {
    if (opts.email !== null) {
      await this.api$('PUT', `/api/users/${opts.userId}`, {
        email: opts.email ?? `${opts.userId}@example.test`,
        name: 'Ada',
      });
    }
    const { accountId } = await this.connectViaWizard(opts.userId, opts.provider);
    await waitFor(async () => (await this.accountRow(accountId))?.status === 'OK', 30_000, `${accountId} OK`);
    return accountId;
  }

  /**
   * GET /api/accounts/:id once its stored view passes `check`: the workflow persists its view right after each
   * change, so a client that has just seen an effect (an email, a call) may need to wait a moment for the view.
   */
  async accountWhen(accountId: string, check: (json: any) => boolean, timeoutMs = 10_000) {
    let last: any;
    await waitFor(
      async () => {
        last = (await this.api$('GET', `/api/accounts/${accountId}`)).json;
        return check(last);
      },
      timeoutMs,
      `the stored view of ${accountId}`,
    );
    return last;
  }

  /**
   * Stores a status receipt as the forwarder parks it after RECEIPT_MAX_ATTEMPTS refusals (a fault set up directly:
   * no client can make Temporal refuse on cue), so a case can replay it as an operator would. Returns its id.
   */
  async parkDeadReceipt(accountId: string, message: string, accountType = 'WHATSAPP'): Promise<number> {
    const [row] = await this.db('webhook_receipts')
      .insert({
        source: 'account_status',
        account_id: accountId,
        message,
        payload: JSON.stringify({ AccountStatus: { account_id: accountId, account_type: accountType, message } }),
        state: 'dead',
        forward_attempts: 5,
        last_error: 'refused by Temporal',
      })
      .returning('id');
    return Number(row.id);
  }

  accountRow(accountId: string) {
    return this.db('accounts').where({ account_id: accountId }).first();
  }

  /** The account's history, oldest first, as a backend reads it (GET /api/accounts/:id/events, every page). */
  async events(accountId: string): Promise<{ type: string; data: any }[]> {
    const items: { type: string; data: any }[] = [];
    let before: number | null = null;
    do {
      const res = await this.api$(
        'GET',
        `/api/accounts/${accountId}/events?limit=200${before ? `&before=${before}` : ''}`,
      );
      if (res.status === 404) return [];
      if (res.status !== 200) throw new Error(`GET /api/accounts/${accountId}/events answered ${res.status}`);
      items.push(...res.json.items);
      before = res.json.nextCursor;
    } while (before);
    return items.reverse();
  }

  async waitForEvent(accountId: string, type: string, count = 1): Promise<void> {
    await waitFor(
      async () => (await this.events(accountId)).filter((e) => e.type === type).length >= count,
      30_000,
      `${count} ${type} event(s) for ${accountId}`,
    );
  }

  async extensionToken(userId: string): Promise<string> {
    const res = await this.api$('POST', `/api/users/${userId}/extension-token`);
    if (res.status !== 201) throw new Error(`extension-token answered ${res.status}`);
    return res.json.token;
  }

  /** Posts cookies as the browser extension does. */
  postCookies(token: string | null, body: unknown) {
    return this.api$('POST', '/api/extension/linkedin-cookies', body, {
      authorization: token ? `Bearer ${token}` : '',
    });
  }

  session(userId: string, memberId: string) {
    return this.db('linkedin_sessions').where({ user_id: userId, linkedin_member_id: memberId }).first();
  }

  /** A LinkedIn account connected from extension cookies, status OK. */
  async linkedinAccount(
    userId: string,
    memberId: string,
    liAt: string,
    email: string | null = `${userId}@example.test`,
  ) {
    if (email) await this.api$('PUT', `/api/users/${userId}`, { email, name: 'Lin' });
    const token = await this.extensionToken(userId);
    const res = await this.postCookies(token, cookieBody(liAt, memberId));
    if (res.status !== 202) throw new Error(`cookie post answered ${res.status}: ${res.text}`);
    await waitFor(async () => !!(await this.session(userId, memberId))?.account_id, 30_000, 'cookie connection');
    const accountId: string = (await this.session(userId, memberId)).account_id;
    await waitFor(async () => (await this.accountRow(accountId))?.status === 'OK', 30_000, `${accountId} OK`);
    // The account workflow may have been started by the CREATION_SUCCESS webhook before it heard of the cookie.
    await waitFor(
      async () => !!(await this.api$('GET', `/api/accounts/${accountId}`)).json?.workflow?.cookieAt,
      30_000,
      'workflow knows the cookie',
    );
    return { accountId, token };
  }

  reconnectCalls(accountId: string) {
    return this.sim.calls.filter((c) => c.method === 'POST' && c.path === `/api/v1/accounts/${accountId}`);
  }

  connectCalls() {
    return this.sim.calls.filter((c) => c.method === 'POST' && c.path === '/api/v1/accounts');
  }

  restartCalls(accountId: string) {
    return this.sim.calls.filter((c) => c.method === 'POST' && c.path === `/api/v1/accounts/${accountId}/restart`);
  }
}

let runtimeInstalled = false;
/** Every log line of the in-process workers (SDK, workflows, activities), kept so tests can search them. */
export const workerLogLines: string[] = [];
/** Keeps all worker logs in memory and prints only warnings. Once per process. */
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      // Core's own logs (gRPC retries while a test holds Temporal down) go to the same capture, not to stderr.
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
      logger: new DefaultLogger('DEBUG', (entry) => {
        const line = `${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {})}`;
        workerLogLines.push(line);
        if ((entry.level === 'WARN' && entry.meta?.sdkComponent !== 'core') || entry.level === 'ERROR')
          console.warn(line);
      }),
    });
  } catch {
    // Already installed by another test file in this jest worker.
  }
}

/** Polls until the check passes; fails with the last observation after the timeout. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function cookieBody(liAt: string, memberId: string, extra: Record<string, unknown> = {}) {
  return {
    li_at: liAt,
    li_a: `premium-${liAt}`,
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Test/1.0',
    linkedin_member_id: memberId,
    ip: '203.0.113.7',
    country: 'fr',
    ...extra,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
