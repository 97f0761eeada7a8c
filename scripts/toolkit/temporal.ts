// Temporal for development, tests and the benchmark: where its binaries are, how a dev server is started, and how
// to wait until a frontend answers.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/account/contract';
import { ProviderIncidentsKey } from '../../src/workflows/provider-incidents/contract';
import { freePort, pollUntil, ROOT, signal, spawnProcess } from './processes';

/**
 * SQLite pragmas of a file-backed dev server (`npm run dev`, the benchmark). WAL with normal sync takes about three
 * times the signals per second of SQLite's default journal (docs/BENCHMARKS.md); it survives a crash of any process
 * and may lose the last moments of work on a power cut, which is fine for development.
 */
export const DEV_SERVER_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

/** Runs one of our ensure scripts, which installs once and prints the path to use. */
function ensured(script: string): string {
  return execFileSync('bash', [join(ROOT, 'scripts', script)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/** The `temporal` CLI binary (installed on first use). */
export function temporalCliPath(): string {
  return ensured('ensure-temporal.sh');
}

/** The folder of the Temporal server, its SQL tool and UI server (built on first use, cached outside the clone). */
export function temporalServerDir(): string {
  return ensured('ensure-temporal-server.sh');
}

export interface DevServerOptions {
  port: number;
  /** The web UI on this port; none when unset (headless). */
  uiPort?: number;
  /** Persisted to this SQLite file (in memory when unset), with DEV_SERVER_SQLITE_PRAGMAS. */
  dbFile?: string;
  /** Registers our search attributes at start (default); `npm run dev` registers them through the API instead. */
  searchAttributes?: boolean;
  extraArgs?: string[];
  timeoutMs?: number;
}

export function devServerArgs(options: DevServerOptions): string[] {
  const args = ['server', 'start-dev'];
  if (options.uiPort === undefined) args.push('--headless');
  args.push('--ip', '127.0.0.1', '--port', String(options.port));
  if (options.uiPort !== undefined) args.push('--ui-port', String(options.uiPort));
  if (options.dbFile) {
    args.push('--db-filename', options.dbFile);
    for (const pragma of DEV_SERVER_SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  args.push('--log-level', 'error');
  if (options.searchAttributes ?? true) {
    for (const key of SEARCH_ATTRIBUTE_KEYS) args.push('--search-attribute', `${key.name}=Keyword`);
    args.push('--search-attribute', `${ProviderIncidentsKey.name}=KeywordList`);
  }
  return [...args, ...(options.extraArgs ?? [])];
}

/** Starts `temporal server start-dev`; resolves when its frontend answers, or kills it and throws. */
export async function startTemporalDevServer(options: DevServerOptions): Promise<ChildProcess> {
  const child = spawnProcess(temporalCliPath(), devServerArgs(options));
  try {
    const connection = await waitForTemporal(`127.0.0.1:${options.port}`, {
      child,
      timeoutMs: options.timeoutMs ?? 60_000,
    });
    await connection.close();
    return child;
  } catch (err) {
    signal(child, 'SIGKILL');
    throw err;
  }
}

/**
 * Starts a dev server on a port found free. That port can be taken before the server binds it (seen in CI: "address
 * already in use", and the server exits), so it tries again on another port, up to three times.
 */
export async function startTemporalDevServerOnFreePort(
  options: Omit<DevServerOptions, 'port'>,
): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { child: await startTemporalDevServer({ ...options, port }), port };
    } catch (err) {
      if (attempt >= 3) throw err;
      console.warn(`Temporal dev server did not start on port ${port}; trying another: ${(err as Error).message}`);
    }
  }
}

export interface TemporalWaitOptions {
  /** The server process, when we started it: its exit ends the wait. */
  child?: ChildProcess;
  timeoutMs?: number;
  everyMs?: number;
  connectTimeoutMs?: number;
}

/** Connects once the frontend at `address` answers a request; the caller closes the connection it gets. */
export async function waitForTemporal(address: string, options: TemporalWaitOptions = {}): Promise<Connection> {
  const { child, timeoutMs = 60_000, everyMs = 250, connectTimeoutMs = 1000 } = options;
  return pollUntil(
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: connectTimeoutMs });
      try {
        await connection.workflowService.getSystemInfo({});
        return connection;
      } catch (err) {
        await connection.close();
        throw err;
      }
    },
    { child, timeoutMs, everyMs, what: `Temporal at ${address}` },
  );
}
