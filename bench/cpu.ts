// CPU spent by each part during a scenario, from /proc: what the two cores went to while a figure was measured, so
// "what limits it" is read from the run rather than guessed. A process's figure counts all its threads (the worker's
// Rust core, the Go server's goroutines); PostgreSQL is its postmaster, the backends alive now, and those it has
// reaped; a child of the benchmark is read every second, so one stopped during a scenario counts what it used up to
// about its end.
import { readdirSync, readFileSync } from 'node:fs';
import { round } from './harness';

/** Linux's clock ticks per second for /proc times (USER_HZ: 100 on every architecture Node runs on here). */
const TICKS = 100;

interface Times {
  self: number;
  children: number;
  ppid: number;
  comm: string;
}

function times(pid: number | string): Times | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command sits in parentheses and may hold spaces; the fields after it are positional.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat
      .slice(close + 2)
      .split(' ')
      .map(Number);
    // After the command: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    return { ppid: f[1]!, self: (f[11]! + f[12]!) / TICKS, children: (f[13]! + f[14]!) / TICKS, comm };
  } catch {
    return undefined; // gone
  }
}

/** PostgreSQL's CPU seconds: the postmaster with its reaped children, plus every live backend. */
function postgresSeconds(): number {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((pid) => [Number(pid), times(pid)] as const)
    .filter((entry): entry is readonly [number, Times] => entry[1]?.comm === 'postgres');
  const pids = new Set(all.map(([pid]) => pid));
  let total = 0;
  for (const [, t] of all) total += pids.has(t.ppid) ? t.self : t.self + t.children;
  return total;
}

export interface CpuSnapshot {
  at: number;
  /** CPU seconds so far by key: `role|pid` for our children, a name for the others. */
  seconds: Record<string, number>;
}

/** A process's CPU seconds so far (all its threads), or undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  return times(pid)?.self;
}

/**
 * CPU seconds so far per part: our children as `role|pid` with the last figure read for each (the benchmark reads
 * them every second, so one that ended keeps what it used up to about its end), PostgreSQL, the benchmark itself.
 */
export function cpuSnapshot(children: { role: string; pid: number; seconds: number }[]): CpuSnapshot {
  const seconds: Record<string, number> = {};
  for (const c of children) seconds[`${c.role}|${c.pid}`] = c.seconds;
  seconds['postgres'] = postgresSeconds();
  const own = process.cpuUsage();
  seconds['benchmark (load, simulator, outbox)'] = (own.user + own.system) / 1e6;
  return { at: Date.now(), seconds };
}

export interface CpuShare {
  wallSeconds: number;
  /** Cores used on average per part (CPU seconds / wall seconds), largest first. */
  cores: { part: string; cores: number }[];
  totalCores: number;
}

/** Cores used per part between two snapshots; a process started in between counts from its start. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuShare {
  const wall = (after.at - before.at) / 1000;
  const used = new Map<string, number>();
  for (const [key, total] of Object.entries(after.seconds)) {
    const part = key.split('|')[0]!;
    used.set(part, (used.get(part) ?? 0) + total - (before.seconds[key] ?? 0));
  }
  const cores = [...used]
    .map(([part, seconds]) => ({ part, cores: round(seconds / wall, 2) }))
    .filter((c) => c.cores > 0)
    .sort((a, b) => b.cores - a.cores);
  const totalCores = round(
    cores.reduce((s, c) => s + c.cores, 0),
    2,
  );
  return { wallSeconds: round(wall, 1), cores, totalCores };
}
