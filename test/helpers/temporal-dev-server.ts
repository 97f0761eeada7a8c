import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/account/contract';

export function temporalCliPath(): string {
  const script = resolve(__dirname, '../../scripts/ensure-temporal.sh');
  return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/** Starts `temporal server start-dev` (in memory, headless) with our search attributes; resolves when it answers. */
export async function startTemporalDevServer(port: number, extraArgs: string[] = []): Promise<ChildProcess> {
  const args = [
    'server',
    'start-dev',
    '--headless',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    'error',
  ];
  for (const key of SEARCH_ATTRIBUTE_KEYS) args.push('--search-attribute', `${key.name}=Keyword`);
  const child = spawn(temporalCliPath(), [...args, ...extraArgs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited with ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      return child;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw err;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs` (longer than the worker's 10 s shutdown grace). */
export async function stopProcess(child: ChildProcess | undefined, graceMs = 15_000): Promise<void> {
  // Already gone: it exited, or a signal killed it.
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
