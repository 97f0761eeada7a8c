// The parts the benchmark measures, all real: PostgreSQL, a Temporal dev server persisted to a file (or the Temporal
// at --temporal-address), the API and the worker each in their own process, the Unipile simulator over HTTP, and a
// bare Express process for the HTTP ceiling.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import knex, { type Knex } from 'knex';
import { createDb, ensureDatabase, migrateLatest } from '../src/platform/db';
import { UnipileSimulator } from '../src/simulator/unipile-simulator';
import { ROOT, freePort, spawnTs, stopAll, stopProcess, waitForHttp } from '../scripts/toolkit/processes';
import { DEV_SERVER_SQLITE_PRAGMAS, startTemporalDevServerOnFreePort } from '../scripts/toolkit/temporal';
import { cpuSnapshot, processCpuSeconds, type CpuSnapshot } from './cpu';
import { postJson, round, sleep, until, type LoadResult } from './harness';
import type { Settings } from './settings';

/** What a scenario leaves for the ones after it. */
export interface Shared {
  temporalCeiling?: LoadResult;
  ingestIds?: string[];
  rateIds?: string[];
  idleIds?: string[];
  idleSample?: string;
  idleWatch?: { accounts: number; before: number; after: number };
  massRuns?: { historyEventsPerIncident: number }[];
}

/** What each entry point is called in the CPU table and the profiles' names. */
const ROLES: Record<string, string> = {
  'src/api/server.ts': 'API',
  'src/worker/main.ts': 'worker',
  'bench/ceilings/worker.ts': 'ceiling worker',
  'bench/bare-http.ts': 'bare Express',
};

/** Every process the benchmark started, so that Ctrl-C or a timeout from outside takes them all down. */
export const children: ChildProcess[] = [];

export class Bench {
  readonly out: Record<string, unknown> = {};
  readonly shared: Shared = {};
  readonly tmp = mkdtempSync(join(tmpdir(), 'keeper-bench-'));
  readonly dbName = `bench_${randomBytes(4).toString('hex')}`;
  db!: Knex;
  connection?: Connection;
  client!: Client;
  readonly sim = new UnipileSimulator({ apiKey: 'bench-key' });
  temporalAddress = '';
  apiUrl = '';
  barePort = 0;
  env: Record<string, string> = {};
  worker?: ChildProcess;
  readonly startedAt = new Date();
  readonly loadAtStart = loadavg()[0]!;
  /** The scenario running now: it names the CPU profiles of the processes started during it. */
  scenario = 'start';
  /** Where `--profile` runs write their CPU profiles (kept out of git; summarised into the results). */
  readonly profileDir = join(ROOT, 'bench/results', `profiles-${this.startedAt.toISOString().replace(/[:.]/g, '-')}`);
  /** The role of each process we started, for the CPU table. */
  private readonly roles = new Map<ChildProcess, string>();
  private readonly cpuSeen = new Map<ChildProcess, number>();
  private cpuReader?: NodeJS.Timeout;
  private spawned = 0;

  constructor(readonly settings: Settings) {}

  /** The run, the machine and the settings, written first in the JSON (the doc's header is rendered from them). */
  async describe(): Promise<void> {
    this.out.run = {
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      startedAt: this.startedAt.toISOString(),
      ...gitCommit(),
    };
    this.out.machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGb: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      os: osName(),
      // Anything else running shares the cores: the load when the run began says whether the machine was quiet.
      loadAverageAtStart: round(this.loadAtStart, 2),
      postgres: this.db ? ((await this.db.raw('show server_version')).rows[0]?.server_version ?? null) : 'not used',
      temporal: this.settings.temporalAddress
        ? `external ${this.settings.temporalAddress}`
        : `temporal CLI v1.5.1 start-dev, --db-filename, ${DEV_SERVER_SQLITE_PRAGMAS.join(', ')}`,
    };
    const s = this.settings;
    this.out.settings = {
      quick: s.quick,
      webhooks: s.ingest.webhooks,
      webhookAccounts: s.ingest.accounts,
      concurrency: s.concurrency,
      rate: s.rate,
      reads: s.reads,
      idleWatchSeconds: s.idleWatchMs / 1000,
      cap: s.cap,
      cachedWorkflows: s.cache,
      idle: s.idle,
      backlog: s.backlog,
      capped: s.mass,
      uncapped: s.uncapped,
      ...(s.only ? { only: s.only } : {}),
    };
  }

  async start(): Promise<void> {
    this.cpuReader = setInterval(() => this.readCpu(), 1000);
    this.cpuReader.unref();
    const databaseUrl = `${this.settings.pg}/${this.dbName}`;
    await ensureDatabase(databaseUrl);
    this.db = createDb(databaseUrl);
    await migrateLatest(this.db);
    await this.startTemporal();
    this.connection = await Connection.connect({ address: this.temporalAddress });
    this.client = new Client({ connection: this.connection });
    const simUrl = await this.sim.start();
    const bundle = await this.writeBundle();
    const apiPort = await freePort();
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    this.env = this.processEnv(databaseUrl, simUrl, apiPort, bundle);
    this.startWorker();
    const api = this.spawn('src/api/server.ts');
    await waitForHttp(`${this.apiUrl}/healthz`, { child: api });
    await this.startBareHttp();
    await sleep(2000); // let the worker connect and poll
  }

  private async startTemporal(): Promise<void> {
    if (this.settings.temporalAddress) {
      this.temporalAddress = this.settings.temporalAddress;
      return;
    }
    // Persisted to a file with the pragmas `npm run dev` uses.
    const { child: server, port } = await startTemporalDevServerOnFreePort({ dbFile: join(this.tmp, 'temporal.db') });
    children.push(server);
    this.roles.set(server, 'Temporal server');
    this.temporalAddress = `127.0.0.1:${port}`;
  }

  private async writeBundle(): Promise<string> {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../src/workflows'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    });
    const bundle = join(this.tmp, 'workflow-bundle.js');
    writeFileSync(bundle, code);
    return bundle;
  }

  private processEnv(databaseUrl: string, simUrl: string, apiPort: number, bundle: string): Record<string, string> {
    return {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: this.temporalAddress,
      TEMPORAL_TASK_QUEUE: `bench-${randomBytes(3).toString('hex')}`,
      UNIPILE_DSN: simUrl,
      UNIPILE_API_KEY: 'bench-key',
      PUBLIC_BASE_URL: this.apiUrl,
      PORT: String(apiPort),
      API_TOKEN: this.settings.apiToken,
      UNIPILE_WEBHOOK_SECRET: this.settings.secret,
      SIGNING_SECRET: 'bench-signing-secret',
      COOKIE_ENCRYPTION_KEY: `k1:${randomBytes(32).toString('base64')}`,
      SMTP_URL: `file://${join(this.tmp, 'outbox')}`,
      MAIL_FROM: 'bench@localhost',
      UNIPILE_MAX_RPS: String(this.settings.cap),
      WORKER_MAX_CACHED_WORKFLOWS: String(this.settings.cache),
      WORKFLOW_BUNDLE_PATH: bundle,
      LOG_LEVEL: 'warn',
      // A quick run (CI's, under a 10-minute limit) shortens the wait before an incident's first email, which the
      // provider-incident round otherwise spends idle; the full run keeps the product's default.
      ...(this.settings.quick ? { EMAIL_SETTLE: '30s' } : {}),
      // The bench's accounts exist only in our database: a reconciliation on the hour would find them gone at Unipile.
      RECONCILE_INTERVAL: '8760h',
    };
  }

  private async startBareHttp(): Promise<void> {
    this.barePort = await freePort();
    this.spawn('bench/bare-http.ts', { PORT: String(this.barePort) });
    await until(
      async () =>
        fetch(`http://127.0.0.1:${this.barePort}/webhook`, { method: 'POST' }).then(
          () => true,
          () => false,
        ),
      20_000,
      'bare HTTP server',
    );
  }

  /** One of our entry points in its own process, with the benchmark's environment (and `extra` over it). */
  spawn(entry: string, extra: Record<string, string> = {}): ChildProcess {
    const role = ROLES[entry] ?? entry;
    const name = `${String(++this.spawned).padStart(2, '0')}-${this.scenario}-${role}`;
    const profiled = this.settings.profile && (role === 'API' || role === 'worker');
    // A folder per process: Node writes one profile per thread (the main thread, tsx's module loader, the worker's
    // workflow threads). A 10 ms sampling interval: enough samples over minutes, too few to slow the process.
    const nodeArgs = profiled
      ? ['--cpu-prof', `--cpu-prof-dir=${join(this.profileDir, name)}`, '--cpu-prof-interval=10000']
      : [];
    // Its output to a file (read after a run that went wrong), not kept in memory for the length of a run.
    mkdirSync(join(this.tmp, 'logs'), { recursive: true });
    const logFile = join(this.tmp, 'logs', `${name}.log`);
    const child = spawnTs(entry, { ...this.env, ...extra }, createWriteStream(logFile), nodeArgs);
    children.push(child);
    this.roles.set(child, role);
    return child;
  }

  /** CPU seconds so far of every part (cpu.ts): our live children by role, PostgreSQL, the benchmark itself. */
  cpu(): CpuSnapshot {
    this.readCpu();
    return cpuSnapshot(
      [...this.cpuSeen].map(([child, seconds]) => ({ role: this.roles.get(child)!, pid: child.pid!, seconds })),
    );
  }

  /** The CPU seconds of every live child, kept after it ends (read every second from start()). */
  private readCpu(): void {
    for (const child of this.roles.keys()) {
      // Only while it runs: an ended child's pid may already be another process's.
      if (!child.pid || child.exitCode !== null || child.signalCode !== null) continue;
      const seconds = processCpuSeconds(child.pid);
      if (seconds !== undefined) this.cpuSeen.set(child, seconds);
    }
  }

  startWorker(extra: Record<string, string> = {}): void {
    this.worker = this.spawn('src/worker/main.ts', extra);
  }

  async stopWorker(): Promise<void> {
    await stopProcess(this.worker);
  }

  /** An account_status webhook to the API (or to the API at `base`), as Unipile sends it. */
  webhook(accountId: string, message: string, type = 'LINKEDIN', base = this.apiUrl): Promise<void> {
    return postJson(
      `${base}/webhooks/unipile/account-status`,
      { AccountStatus: { account_id: accountId, account_type: type, message } },
      { 'unipile-auth': this.settings.secret },
    );
  }

  /** How many of these accounts are OK in the accounts table. */
  async okCount(ids: string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += 5000) {
      const chunk = ids.slice(i, i + 5000);
      n += Number(
        (await this.db('accounts').whereIn('account_id', chunk).where({ status: 'OK' }).count({ n: '*' }))[0]!.n,
      );
    }
    return n;
  }

  async pending(): Promise<number> {
    return Number((await this.db('webhook_receipts').where({ state: 'pending' }).count({ n: '*' }))[0]!.n);
  }

  async historyLength(accountId: string): Promise<number> {
    return (await this.client.workflow.getHandle(`account-${accountId}`).fetchHistory()).events?.length ?? 0;
  }

  /** Everything down, the database dropped, the temporary folder removed. */
  async shutdown(): Promise<void> {
    clearInterval(this.cpuReader);
    await this.connection?.close();
    await stopAll(children);
    await this.sim.stop();
    if (this.db) await dropDatabase(this.db, this.settings.pg, this.dbName);
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** The commit measured and whether the working tree had changes; nothing outside a git clone. */
function gitCommit(): { commit?: string; uncommittedChanges?: boolean } {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      uncommittedChanges: git('status', '--porcelain', '--untracked-files=no') !== '',
    };
  } catch {
    return {};
  }
}

/** The distribution's name (os-release) and the kernel. */
function osName(): string {
  let name = `${type()} ${release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) name = `${pretty}, ${type()} ${release()}`;
  } catch {
    // not Linux, or no os-release: the kernel alone
  }
  return name;
}

async function dropDatabase(db: Knex, pg: string, name: string): Promise<void> {
  await db.destroy();
  const admin = knex({ client: 'pg', connection: `${pg}/postgres` });
  await admin.raw('drop database if exists ?? with (force)', [name]);
  await admin.destroy();
}
