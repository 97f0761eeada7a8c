// Spawning, stopping and waiting on processes: one way for `npm run dev`, `npm run prod:local`, the tests and the
// benchmark, so a fix to how a process is stopped or waited on lands everywhere at once.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = resolve(__dirname, '../..');

/** Where a child's stdout and stderr go: kept in an array, handed to a function, or written to a stream. */
export type Output = string[] | ((text: string) => void) | NodeJS.WritableStream;

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Its own process group, so a Ctrl-C in the terminal does not reach it and it can be stopped as a group. */
  detached?: boolean;
  /** Captures stdout and stderr; without it, stdio as given (default: stderr inherited, stdout ignored). */
  output?: Output;
  stdio?: StdioOptions;
}

export function spawnProcess(file: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(file, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    detached: options.detached ?? false,
    stdio: options.output ? ['ignore', 'pipe', 'pipe'] : (options.stdio ?? ['ignore', 'ignore', 'inherit']),
  });
  if (options.output) captureOutput(child, options.output);
  return child;
}

function captureOutput(child: ChildProcess, output: Output): void {
  for (const stream of [child.stdout!, child.stderr!]) {
    if (Array.isArray(output)) stream.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    else if (typeof output === 'function') stream.on('data', (chunk: Buffer) => output(chunk.toString()));
    // Two sources share the stream: neither may end it when it closes first.
    else stream.pipe(output, { end: false });
  }
}

/**
 * Runs a TypeScript entry point in its own Node process, with tsx loaded into that process (`node --import tsx`),
 * so the pid we hold is the process that runs our code: a signal sent to it reaches the code itself.
 */
export function spawnTs(
  entry: string,
  env: Record<string, string>,
  output: Output = [],
  nodeArgs: string[] = [],
): ChildProcess {
  return spawnProcess(process.execPath, [...nodeArgs, '--import', 'tsx', resolve(ROOT, entry)], {
    env: { ...process.env, ...env },
    output,
  });
}

export function isRunning(child: ChildProcess | undefined): boolean {
  return !!child && child.exitCode === null && child.signalCode === null;
}

/** Resolves once the child has exited (at once if it already has). */
export function exited(child: ChildProcess | undefined): Promise<void> {
  if (!child || !isRunning(child)) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

/** Sends a signal to the child, or to its whole group when it was spawned detached; a child already gone is fine. */
export function signal(child: ChildProcess | undefined, name: NodeJS.Signals, group = false): void {
  if (!child?.pid) return;
  try {
    if (group) process.kill(-child.pid, name);
    else child.kill(name);
  } catch {
    // already gone
  }
}

export interface StopOptions {
  /** How long it may take to finish (longer than the worker's 10 s shutdown grace) before SIGKILL. */
  graceMs?: number;
  signal?: NodeJS.Signals;
  /** The child's process group too (a detached child): whatever it started goes with it. */
  group?: boolean;
}

/** Stops a child: a signal (SIGTERM), then SIGKILL after the grace; resolves once it has exited. */
export async function stopProcess(child: ChildProcess | undefined, options: StopOptions | number = {}): Promise<void> {
  const {
    graceMs = 15_000,
    signal: first = 'SIGTERM',
    group = false,
  } = typeof options === 'number' ? { graceMs: options } : options;
  if (isRunning(child)) {
    const done = exited(child);
    signal(child, first, group);
    const timer = setTimeout(() => signal(child, 'SIGKILL', group), graceMs);
    await done;
    clearTimeout(timer);
  }
  // What the group's leader started may outlive it.
  if (group) signal(child, 'SIGKILL', true);
}

/** Stops children in the reverse order of their start (the last started depends on the first); never throws. */
export async function stopAll(children: (ChildProcess | undefined)[], options: StopOptions = {}): Promise<void> {
  for (const child of [...children].reverse()) await stopProcess(child, options).catch(() => undefined);
}

export interface PollOptions {
  timeoutMs: number;
  everyMs?: number;
  /** The process being waited on: its exit ends the wait at once. */
  child?: ChildProcess;
  what?: string;
}

/** Polls `check` until it passes; a check that throws counts as "not yet", and its last error is reported. */
export async function pollUntil<T>(check: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const { timeoutMs, everyMs = 200, child, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (child && !isRunning(child))
      throw new Error(`${what}: the process exited (${child.signalCode ?? child.exitCode})`);
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`${what} did not answer in time${reason}`);
    }
    await sleep(everyMs);
  }
}

export interface HttpWaitOptions extends Partial<PollOptions> {
  /** The answer that counts as ready (default: 200). */
  ready?: (status: number) => boolean;
}

/** Polls an HTTP URL until it answers as ready (200 by default). */
export async function waitForHttp(url: string, options: HttpWaitOptions = {}): Promise<void> {
  const ready = options.ready ?? ((status) => status === 200);
  await pollUntil(async () => (ready((await fetch(url)).status) ? true : undefined), {
    timeoutMs: 30_000,
    what: url,
    ...options,
  });
}

/** A port the system had free a moment ago (bound to port 0, then released). */
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

export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => done(false));
    srv.listen(port, host, () => srv.close(() => done(true)));
  });
}

/** Waits until nothing listens on the port any more (a stopped server's port, before starting another on it). */
export async function waitForPortFree(port: number, timeoutMs = 10_000): Promise<void> {
  await pollUntil(async () => ((await portIsFree(port)) ? true : undefined), {
    timeoutMs,
    what: `port ${port} to be free`,
  });
}
