// npm run prod:local: what production runs, on this machine, from the built JavaScript (SPEC §10.5). The real
// Temporal server on the PostgreSQL of DATABASE_URL (unless TEMPORAL_ADDRESS names one), two API processes on PORT
// and PORT + 1, two workers. A process that dies is started again a second later, as systemd would (deploy/).
// Ctrl-C stops everything: APIs and workers first (workers finish their tasks), the server last.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { Client as PgClient } from 'pg';
import { ConfigError, loadConfig } from '../src/platform/config';
import { registerSearchAttributes } from '../src/platform/temporal-client';

const ROOT = resolve(__dirname, '..');
const STATE = join(ROOT, '.data/prod-local');
const SERVER_VERSION = 'v1.29.1';

function say(line: string): void {
  process.stdout.write(`[prod:local] ${line}\n`);
}

/** Newest modification time under a folder (the sources), to rebuild only when they changed. */
function newest(dir: string): number {
  return readdirSync(dir).reduce((max, name) => {
    const path = join(dir, name);
    const stat = statSync(path);
    return Math.max(max, stat.isDirectory() ? newest(path) : stat.mtimeMs);
  }, 0);
}

function ensureBuilt(): string {
  const worker = join(ROOT, 'lib/src/worker/main.js');
  const bundle = join(ROOT, 'lib/workflow-bundle.js');
  const stale =
    !existsSync(worker) ||
    !existsSync(bundle) ||
    Math.min(statSync(worker).mtimeMs, statSync(bundle).mtimeMs) <
      Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'migrations')));
  if (stale) {
    say('building (npm run build)…');
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build failed');
  }
  return bundle;
}

/** Written for this user only (0600), also when an earlier run left the file readable by others. */
export function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export function pgTarget(databaseUrl: string): PgTarget {
  const url = new URL(databaseUrl);
  if (!/^postgres(ql)?:$/.test(url.protocol)) throw new ConfigError('DATABASE_URL: must be a postgres:// URL here');
  return {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1),
  };
}

async function pgQuery(target: PgTarget, database: string, sql: string, params: unknown[] = []) {
  const client = new PgClient({ ...target, database });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * One temporal-sql-tool run. The password goes in its environment (SQL_PASSWORD, which the tool reads), never in
 * its arguments: any user of the machine can read a process's command line (`ps`).
 */
export function sqlToolCommand(
  serverDir: string,
  target: PgTarget,
  database: string,
  args: string[],
): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  return {
    file: join(serverDir, 'sql'),
    args: [
      ...['--plugin', 'postgres12', '--ep', target.host, '-p', String(target.port), '-u', target.user],
      ...['--db', database, ...args],
    ],
    env: { ...process.env, SQL_PASSWORD: target.password },
  };
}

/**
 * Temporal's own databases beside the application's, created and migrated idempotently with temporal-sql-tool:
 * created when missing, the base schema set when there is none, then every versioned update not yet applied.
 */
async function ensureTemporalDatabases(serverDir: string, target: PgTarget): Promise<[string, string]> {
  const names: [string, string] = [`${target.database}_temporal`, `${target.database}_temporal_visibility`];
  for (const [name, schema] of [
    [names[0], 'temporal'],
    [names[1], 'visibility'],
  ] as const) {
    const sql = (...args: string[]) => {
      const command = sqlToolCommand(serverDir, target, name, args);
      execFileSync(command.file, command.args, { env: command.env, stdio: ['ignore', 'ignore', 'pipe'] });
    };
    const exists = await pgQuery(target, 'postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.length === 0) sql('create-database');
    const versioned = await pgQuery(target, name, "SELECT to_regclass('public.schema_version') AS t");
    if (!versioned[0]?.t) sql('setup-schema', '-v', '0.0');
    sql('update-schema', '-d', join(serverDir, 'schema/postgresql/v12', schema, 'versioned'));
  }
  return names;
}

/**
 * The server's configuration. Ports of its services follow the frontend port (7233 → 7234 history, 7235 matching,
 * 7239 worker). The database password is not in it: the server reads it from its environment (SQL_PASSWORD, as
 * temporal-sql-tool does) through the config loader's templating, which `# enable-template` turns on, the way
 * Temporal's own docker.yaml does.
 */
export function serverConfig(
  target: PgTarget,
  databases: [string, string],
  frontendPort: number,
  dynamic: string,
): string {
  const store = (database: string, conns: number) => `
      sql:
        pluginName: "postgres12"
        databaseName: ${JSON.stringify(database)}
        connectAddr: ${JSON.stringify(`${target.host}:${target.port}`)}
        connectProtocol: "tcp"
        user: ${JSON.stringify(target.user)}
        password: {{ env "SQL_PASSWORD" | quote }}
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: "1h"`;
  const service = (name: string, offset: number) => `
  ${name}:
    rpc:
      grpcPort: ${frontendPort + offset}
      membershipPort: ${frontendPort - 300 + offset}
      bindOnLocalHost: true${name === 'frontend' ? `\n      httpPort: ${frontendPort + 10}` : ''}`;
  return `# enable-template (the password below is read from the environment)
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:${store(databases[0], 20)}
    postgres-visibility:${store(databases[1], 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: "127.0.0.1:${frontendPort + 767}"
services:${service('frontend', 0)}${service('history', 1)}${service('matching', 2)}${service('worker', 6)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${frontendPort}"
dcRedirectionPolicy:
  policy: "noop"
dynamicConfigClient:
  filepath: ${JSON.stringify(dynamic)}
  pollInterval: "10s"
`;
}

// Workflow ids reach 255 characters (SPEC §10.1); search attributes are read right after they are registered.
const DYNAMIC_CONFIG = `limit.maxIDLength:
  - value: 255
    constraints: {}
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
    constraints: {}
`;

/** The server process: its password in its environment (read by serverConfig's template), none in its arguments. */
export function serverCommand(
  serverDir: string,
  root: string,
  target: PgTarget,
): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  return {
    file: join(serverDir, 'server'),
    args: ['--root', root, '--config', 'config', '--env', 'production', '--allow-no-auth', 'start'],
    env: { ...process.env, SQL_PASSWORD: target.password },
  };
}

async function connectWhenUp(
  address: string,
  server: ChildProcess | undefined,
  timeoutMs: number,
): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server && server.exitCode !== null) throw new Error('the Temporal server exited; see its log');
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      await connection.workflowService.getSystemInfo({});
      return connection;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Temporal at ${address} did not answer: ${(err as Error).message}`);
      await sleep(500);
    }
  }
}

/** The namespace, registered when missing, then usable (a new namespace takes a few seconds to reach every service). */
async function ensureNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch {
    await connection.workflowService
      .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('7 days') })
      .catch((err: Error) => {
        if (!/already/i.test(err.message)) throw err;
      });
  }
  for (let i = 0; ; i++) {
    try {
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      return;
    } catch (err) {
      if (i > 60) throw err;
      await sleep(500);
    }
  }
}

/** Stops whatever was started; replaced as the topology comes up, so a failure half-way leaves nothing behind. */
let cleanup: () => Promise<void> = async () => undefined;

interface Supervised {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  child?: ChildProcess;
  url?: string;
}

async function main(): Promise<void> {
  // From the first moment, Ctrl-C stops what has been started so far (cleanup grows as the topology comes up).
  // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by tsx), and a second signal
  // without a handler would kill it before the server is stopped.
  let exiting = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      if (exiting) return;
      exiting = true;
      void cleanup().then(() => process.exit(0));
    });
  const config = loadConfig(process.env);
  const temporalGiven = process.env.TEMPORAL_ADDRESS !== undefined;
  const bundle = ensureBuilt();
  mkdirSync(STATE, { recursive: true, mode: 0o700 });
  const stopping = { now: false };
  let server: ChildProcess | undefined;
  let serverLine = `${config.TEMPORAL_ADDRESS} (given by TEMPORAL_ADDRESS)`;
  let address = config.TEMPORAL_ADDRESS;
  let ui: ChildProcess | undefined;
  let uiLine = 'none (TEMPORAL_ADDRESS names a server started elsewhere)';

  if (!temporalGiven) {
    say(`Temporal server ${SERVER_VERSION} (built once into a cache outside the clone)…`);
    const serverDir = execFileSync('bash', [join(ROOT, 'scripts/ensure-temporal-server.sh')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
    }).trim();
    const target = pgTarget(config.DATABASE_URL);
    const databases = await ensureTemporalDatabases(serverDir, target);
    const port = Number(process.env.TEMPORAL_SERVER_PORT ?? 7233);
    // The server keeps membership ports (port - 300 …) in a smallint column.
    if (!Number.isInteger(port) || port < 1300 || port > 32_000)
      throw new ConfigError('TEMPORAL_SERVER_PORT: must be a port from 1300 to 32000');
    address = `127.0.0.1:${port}`;
    const root = join(STATE, 'temporal');
    mkdirSync(join(root, 'config/dynamicconfig'), { recursive: true });
    const dynamic = join(root, 'config/dynamicconfig/production.yaml');
    writePrivate(join(root, 'config/production.yaml'), serverConfig(target, databases, port, dynamic));
    writePrivate(dynamic, DYNAMIC_CONFIG);
    const log = join(STATE, 'temporal.log');
    const launch = serverCommand(serverDir, root, target);
    server = spawn(
      launch.file,
      launch.args,
      // Its own process group: Ctrl-C in the terminal reaches the APIs and workers, and the server is stopped after
      // them, so that workers can finish their tasks.
      { env: launch.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    const started = server;
    process.once('exit', () => started.kill('SIGKILL'));
    const out = createWriteStream(log, { flags: 'a', mode: 0o600 });
    server.stdout!.pipe(out);
    server.stderr!.pipe(out);
    cleanup = async () => {
      started.kill('SIGKILL');
      ui?.kill('SIGKILL');
    };
    server.once('exit', (code, signal) => {
      if (!stopping.now) say(`the Temporal server exited (${signal ?? code}); see ${log}`);
    });
    serverLine = `${address} (Temporal server ${SERVER_VERSION}, pid ${server.pid}, on PostgreSQL ${databases.join(', ')}; log ${log})`;

    // The Temporal UI (temporalio/ui-server, the release the CLI embeds), pointed at this server.
    const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? port + 1000);
    const uiRoot = join(STATE, 'ui');
    mkdirSync(join(uiRoot, 'config'), { recursive: true });
    writePrivate(join(uiRoot, 'config/base.yaml'), '');
    writePrivate(
      join(uiRoot, 'config/production.yaml'),
      `temporalGrpcAddress: 127.0.0.1:${port}\nhost: 127.0.0.1\nport: ${uiPort}\nenableUi: true\n` +
        `defaultNamespace: ${JSON.stringify(config.TEMPORAL_NAMESPACE)}\nrefreshInterval: 1m\n` +
        `cors:\n  cookieInsecure: true\n  allowOrigins: []\n`,
    );
    const startedUi = spawn(
      join(serverDir, 'ui/server'),
      ['--root', uiRoot, '--config', 'config', '--env', 'production', 'start'],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    ui = startedUi;
    process.once('exit', () => startedUi.kill('SIGKILL'));
    const uiLog = createWriteStream(join(STATE, 'temporal-ui.log'), { flags: 'a', mode: 0o600 });
    ui.stdout!.pipe(uiLog);
    ui.stderr!.pipe(uiLog);
    uiLine = `http://127.0.0.1:${uiPort}   (pid ${ui.pid}; filter: AccountStatus="CREDENTIALS")`;
  }

  const connection = await connectWhenUp(address, server, 90_000);
  await ensureNamespace(connection, config.TEMPORAL_NAMESPACE);
  const added = await registerSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
  await connection.close();
  if (added.length) say(`registered search attributes ${added.join(', ')}`);

  const migrated = spawnSync(process.execPath, [join(ROOT, 'lib/src/commands/migrate.js')], {
    cwd: ROOT,
    env: process.env,
    stdio: 'inherit',
  });
  if (migrated.status !== 0) throw new Error('migrations failed');

  const env = { ...process.env, TEMPORAL_ADDRESS: address, WORKFLOW_BUNDLE_PATH: bundle };
  const metricsPort = process.env.WORKER_METRICS_PORT ? Number(process.env.WORKER_METRICS_PORT) : undefined;
  const processes: Supervised[] = [
    ...[0, 1].map((i) => ({
      name: `api-${i + 1}`,
      args: [join(ROOT, 'lib/src/api/server.js')],
      env: { ...env, PORT: String(config.PORT + i) },
      url: `http://127.0.0.1:${config.PORT + i}`,
    })),
    ...[0, 1].map((i) => ({
      name: `worker-${i + 1}`,
      args: [join(ROOT, 'lib/src/worker/main.js')],
      env: { ...env, ...(metricsPort ? { WORKER_METRICS_PORT: String(metricsPort + i) } : {}) },
    })),
  ];

  const start = (p: Supervised): void => {
    const child = spawn(process.execPath, p.args, { cwd: ROOT, env: p.env, stdio: ['ignore', 'pipe', 'pipe'] });
    p.child = child;
    const prefix = (chunk: Buffer) =>
      chunk
        .toString()
        .split('\n')
        .filter(Boolean)
        .forEach((line) => process.stdout.write(`[${p.name}] ${line}\n`));
    child.stdout!.on('data', prefix);
    child.stderr!.on('data', prefix);
    child.once('exit', (code, signal) => {
      if (stopping.now) return;
      say(`${p.name} (pid ${child.pid}) exited (${signal ?? code}); starting it again in 1 s`);
      setTimeout(() => {
        if (stopping.now) return;
        start(p);
        say(`${p.name} pid ${p.child!.pid}`);
      }, 1000);
    });
  };
  processes.forEach(start);

  const stop = async (): Promise<void> => {
    if (stopping.now) return;
    stopping.now = true;
    say('stopping…');
    const exited = (child: ChildProcess | undefined, ms: number) =>
      new Promise<void>((done) => {
        if (!child || child.exitCode !== null || child.signalCode !== null) return done();
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          done();
        }, ms);
        child.once('exit', () => {
          clearTimeout(timer);
          done();
        });
      });
    // Workers drain within their 10 s shutdown grace; the server goes last so they can finish.
    for (const p of processes) p.child?.kill('SIGTERM');
    await Promise.all(processes.map((p) => exited(p.child, 15_000)));
    ui?.kill('SIGTERM');
    server?.kill('SIGTERM');
    await Promise.all([exited(ui, 5000), exited(server, 15_000)]);
    say('stopped');
  };
  cleanup = stop;

  // Ready when both APIs say so (PostgreSQL and Temporal reachable).
  for (const p of processes.filter((x) => x.url)) {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${p.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 120) throw new Error(`${p.name} did not become ready`);
      await sleep(500);
    }
  }
  const lines = [
    'Production topology running.',
    `  Temporal        ${serverLine}`,
    `  Temporal UI     ${uiLine}`,
    ...processes.map((p) => `  ${p.name.padEnd(15)} ${p.url ? `${p.url} ` : ''}pid ${p.child!.pid}`),
    `  Database        ${config.DATABASE_URL.replace(/\/\/[^@]*@/, '//')}`,
    'Ctrl-C stops everything.',
  ];
  say(lines.join('\n'));
}

// Only when run (npm run prod:local): its tests import the functions above.
if (require.main === module) {
  main().catch(async (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : `prod:local failed: ${(err as Error).message}`);
    await cleanup();
    process.exit(1);
  });
}
