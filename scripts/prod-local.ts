// npm run prod:local: what production runs, on this machine, from the built JavaScript. The real Temporal server
// on the PostgreSQL of DATABASE_URL (unless TEMPORAL_ADDRESS names one), two API processes on PORT and PORT + 1,
// two workers. A process that dies is started again a second later, as systemd would (deploy/).
// Ctrl-C stops everything: APIs and workers first (workers finish their tasks), the server last.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../src/platform/config';
import { registerSearchAttributes } from '../src/platform/temporal-client';
import {
  DYNAMIC_CONFIG,
  ensureNamespace,
  ensureTemporalDatabases,
  pgTarget,
  serverCommand,
  serverConfig,
  writePrivate,
  type PgTarget,
} from './prod-local-server';
import { isRunning, ROOT, signal, spawnProcess, stopProcess, waitForHttp } from './toolkit/processes';
import { temporalServerDir, waitForTemporal } from './toolkit/temporal';

// Its tests read these where they always were.
export { pgTarget, serverCommand, serverConfig, sqlToolCommand, writePrivate } from './prod-local-server';

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

/** Stops whatever was started; replaced as the topology comes up, so a failure half-way leaves nothing behind. */
let cleanup: () => Promise<void> = async () => undefined;

/** A Node process of the topology (an API or a worker), started again when it dies, as systemd would. */
interface Supervised {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  child?: ChildProcess;
  url?: string;
}

/** The Temporal server and its UI that this run started (none when TEMPORAL_ADDRESS names one). */
interface TemporalSide {
  address: string;
  server?: ChildProcess;
  ui?: ChildProcess;
  serverLine: string;
  uiLine: string;
}

/** Set once the topology is being stopped: exits are then expected, and nothing is started again. */
const stopping = { now: false };

/**
 * From the first moment, Ctrl-C stops what has been started so far (cleanup grows as the topology comes up).
 * `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by tsx), and a second signal
 * without a handler would kill it before the server is stopped.
 */
function stopOnSignals(): void {
  let exiting = false;
  for (const name of ['SIGINT', 'SIGTERM'] as const)
    process.on(name, () => {
      if (exiting) return;
      exiting = true;
      void cleanup().then(() => process.exit(0));
    });
}

/** The server's folder under .data/prod-local: its configuration (owner-only) and dynamic configuration. */
function writeServerRoot(target: PgTarget, databases: [string, string], port: number): string {
  const root = join(STATE, 'temporal');
  mkdirSync(join(root, 'config/dynamicconfig'), { recursive: true });
  const dynamic = join(root, 'config/dynamicconfig/production.yaml');
  writePrivate(join(root, 'config/production.yaml'), serverConfig(target, databases, port, dynamic));
  writePrivate(dynamic, DYNAMIC_CONFIG);
  return root;
}

/** A detached child (its own process group), its output appended to an owner-only log, killed if we exit first. */
function spawnDetached(file: string, args: string[], log: string, env?: NodeJS.ProcessEnv): ChildProcess {
  const output = createWriteStream(log, { flags: 'a', mode: 0o600 });
  const child = spawnProcess(file, args, { env, detached: true, output });
  process.once('exit', () => signal(child, 'SIGKILL', true));
  return child;
}

function serverPort(): number {
  const port = Number(process.env.TEMPORAL_SERVER_PORT ?? 7233);
  // The server keeps membership ports (port - 300 …) in a smallint column.
  if (!Number.isInteger(port) || port < 1300 || port > 32_000)
    throw new ConfigError('TEMPORAL_SERVER_PORT: must be a port from 1300 to 32000');
  return port;
}

/** The Temporal UI (temporalio/ui-server, the release the CLI embeds), pointed at this server. */
function startUi(serverDir: string, port: number, namespace: string): { ui: ChildProcess; uiLine: string } {
  const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? port + 1000);
  const uiRoot = join(STATE, 'ui');
  mkdirSync(join(uiRoot, 'config'), { recursive: true });
  writePrivate(join(uiRoot, 'config/base.yaml'), '');
  writePrivate(
    join(uiRoot, 'config/production.yaml'),
    `temporalGrpcAddress: 127.0.0.1:${port}\nhost: 127.0.0.1\nport: ${uiPort}\nenableUi: true\n` +
      `defaultNamespace: ${JSON.stringify(namespace)}\nrefreshInterval: 1m\n` +
      `cors:\n  cookieInsecure: true\n  allowOrigins: []\n`,
  );
  const ui = spawnDetached(
    join(serverDir, 'ui/server'),
    ['--root', uiRoot, '--config', 'config', '--env', 'production', 'start'],
    join(STATE, 'temporal-ui.log'),
  );
  return { ui, uiLine: `http://127.0.0.1:${uiPort}   (pid ${ui.pid}; filter: AccountStatus="CREDENTIALS")` };
}

/**
 * The real Temporal server on the PostgreSQL of DATABASE_URL, and its UI. Both in their own process group:
 * Ctrl-C in the terminal reaches the APIs and workers, and the server is stopped after them, so that workers can
 * finish their tasks.
 */
async function startTemporalServer(config: Config): Promise<TemporalSide> {
  say(`Temporal server ${SERVER_VERSION} (built once into a cache outside the clone)…`);
  const serverDir = temporalServerDir();
  const target = pgTarget(config.DATABASE_URL);
  const databases = await ensureTemporalDatabases(serverDir, target);
  const port = serverPort();
  const root = writeServerRoot(target, databases, port);
  const log = join(STATE, 'temporal.log');
  const launch = serverCommand(serverDir, root, target);
  const server = spawnDetached(launch.file, launch.args, log, launch.env);
  server.once('exit', (code, sig) => {
    if (!stopping.now) say(`the Temporal server exited (${sig ?? code}); see ${log}`);
  });
  const { ui, uiLine } = startUi(serverDir, port, config.TEMPORAL_NAMESPACE);
  cleanup = async () => {
    signal(server, 'SIGKILL', true);
    signal(ui, 'SIGKILL', true);
  };
  return {
    address: `127.0.0.1:${port}`,
    server,
    ui,
    serverLine: `127.0.0.1:${port} (Temporal server ${SERVER_VERSION}, pid ${server.pid}, on PostgreSQL ${databases.join(', ')}; log ${log})`,
    uiLine,
  };
}

/** Once the frontend answers: the namespace and our search attributes, registered when missing. */
async function prepareTemporal(temporal: TemporalSide, namespace: string): Promise<void> {
  const connection = await waitForTemporal(temporal.address, {
    child: temporal.server,
    timeoutMs: 90_000,
    everyMs: 500,
    connectTimeoutMs: 2000,
  }).catch((err: Error) => {
    if (temporal.server && !isRunning(temporal.server)) throw new Error('the Temporal server exited; see its log');
    throw err;
  });
  try {
    await ensureNamespace(connection, namespace);
    const added = await registerSearchAttributes(connection, namespace);
    if (added.length) say(`registered search attributes ${added.join(', ')}`);
  } finally {
    await connection.close();
  }
}

function migrate(): void {
  const migrated = spawnSync(process.execPath, [join(ROOT, 'lib/src/commands/migrate.js')], {
    cwd: ROOT,
    env: process.env,
    stdio: 'inherit',
  });
  if (migrated.status !== 0) throw new Error('migrations failed');
}

/** Two APIs on PORT and PORT + 1, two workers (metrics on WORKER_METRICS_PORT and the next one when set). */
function topology(config: Config, address: string, bundle: string): Supervised[] {
  const env = { ...process.env, TEMPORAL_ADDRESS: address, WORKFLOW_BUNDLE_PATH: bundle };
  const metricsPort = process.env.WORKER_METRICS_PORT ? Number(process.env.WORKER_METRICS_PORT) : undefined;
  return [
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
}

/**
 * How long a dead API or worker stays down before it is started again: 1 s, systemd's RestartSec in deploy/
 * (PROD_LOCAL_RESTART_DELAY in ms moves it, e.g. to watch the survivors carry the load alone for a while).
 */
const RESTART_DELAY_MS = Number(process.env.PROD_LOCAL_RESTART_DELAY ?? 1000);

/** Starts one process with its output prefixed by its name; RESTART_DELAY_MS after it dies, starts it again. */
function supervise(p: Supervised): void {
  const prefix = (text: string) =>
    text
      .split('\n')
      .filter(Boolean)
      .forEach((line) => process.stdout.write(`[${p.name}] ${line}\n`));
  const child = spawnProcess(process.execPath, p.args, { env: p.env, output: prefix });
  p.child = child;
  child.once('exit', (code, sig) => {
    if (stopping.now) return;
    say(`${p.name} (pid ${child.pid}) exited (${sig ?? code}); starting it again in ${RESTART_DELAY_MS / 1000} s`);
    setTimeout(() => {
      if (stopping.now) return;
      supervise(p);
      say(`${p.name} pid ${p.child!.pid}`);
    }, RESTART_DELAY_MS);
  });
}

/** APIs and workers first (workers drain within their 10 s shutdown grace), the UI and the server last. */
async function stopTopology(processes: Supervised[], temporal: TemporalSide): Promise<void> {
  if (stopping.now) return;
  stopping.now = true;
  say('stopping…');
  await Promise.all(processes.map((p) => stopProcess(p.child, 15_000)));
  await Promise.all([
    stopProcess(temporal.ui, { graceMs: 5000, group: true }),
    stopProcess(temporal.server, { graceMs: 15_000, group: true }),
  ]);
  say('stopped');
}

/** Ready when both APIs say so (PostgreSQL and Temporal reachable). */
async function waitUntilReady(processes: Supervised[]): Promise<void> {
  for (const p of processes.filter((x) => x.url)) {
    await waitForHttp(`${p.url}/readyz`, { timeoutMs: 60_000, everyMs: 500, ready: (status) => status < 300 }).catch(
      () => {
        throw new Error(`${p.name} did not become ready`);
      },
    );
  }
}

function summary(config: Config, processes: Supervised[], temporal: TemporalSide): string {
  return [
    'Production topology running.',
    `  Temporal        ${temporal.serverLine}`,
    `  Temporal UI     ${temporal.uiLine}`,
    ...processes.map((p) => `  ${p.name.padEnd(15)} ${p.url ? `${p.url} ` : ''}pid ${p.child!.pid}`),
    `  Database        ${config.DATABASE_URL.replace(/\/\/[^@]*@/, '//')}`,
    'Ctrl-C stops everything.',
  ].join('\n');
}

async function main(): Promise<void> {
  stopOnSignals();
  const config = loadConfig(process.env);
  const bundle = ensureBuilt();
  mkdirSync(STATE, { recursive: true, mode: 0o700 });
  const temporal: TemporalSide =
    process.env.TEMPORAL_ADDRESS !== undefined
      ? {
          address: config.TEMPORAL_ADDRESS,
          serverLine: `${config.TEMPORAL_ADDRESS} (given by TEMPORAL_ADDRESS)`,
          uiLine: 'none (TEMPORAL_ADDRESS names a server started elsewhere)',
        }
      : await startTemporalServer(config);
  await prepareTemporal(temporal, config.TEMPORAL_NAMESPACE);
  migrate();
  const processes = topology(config, temporal.address, bundle);
  processes.forEach(supervise);
  cleanup = () => stopTopology(processes, temporal);
  await waitUntilReady(processes);
  say(summary(config, processes, temporal));
}

// Only when run (npm run prod:local): its tests import the functions above.
if (require.main === module) {
  main().catch(async (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : `prod:local failed: ${(err as Error).message}`);
    await cleanup();
    process.exit(1);
  });
}
