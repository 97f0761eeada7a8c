// What a V8 CPU profile (`node --cpu-prof`, taken with `npm run bench -- --profile`) says, in a few lines: how busy
// the process's JavaScript thread was, where its time went by area (our code by folder, each package, Node's own
// code, the garbage collector) and the functions with the most time of their own. The worker's Rust core runs on
// threads of its own, outside these profiles; the CPU table (cpu.ts) counts it.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { round } from './harness';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** The file's name: scenario, role and a sequence number. */
  name: string;
  wallSeconds: number;
  /** Share of the wall time the JavaScript thread was not idle. */
  busyShare: number;
  /** Of the busy time: each area's share, largest first. */
  areas: { area: string; share: number }[];
  /** Of the busy time: the functions with the most self time. */
  functions: { fn: string; where: string; share: number }[];
}

/** The area a frame belongs to: our folder, a package, Node itself, or V8's own buckets. */
function areaOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(program)') return 'V8 and native code (program)';
    return functionName.startsWith('(') ? functionName : 'native';
  }
  if (url.startsWith('node:')) return 'Node.js core';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /\/(src|bench)\/([^/]+)/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (/workflow-bundle/.test(url)) return 'workflow code (bundle)';
  return url.replace(/^file:\/\//, '').slice(-40);
}

export function summariseProfile(file: string, top = 8): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const wall = profile.endTime - profile.startTime;
  let idle = 0;
  const areas = new Map<string, number>();
  const functions = new Map<string, { fn: string; where: string; time: number }>();
  for (const [id, time] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idle += time;
      continue;
    }
    const area = areaOf(frame);
    areas.set(area, (areas.get(area) ?? 0) + time);
    const where = frame.url ? `${area}:${frame.url.split('/').pop()}:${frame.lineNumber + 1}` : area;
    const key = `${frame.functionName}@${where}`;
    const entry = functions.get(key) ?? { fn: frame.functionName || '(anonymous)', where, time: 0 };
    entry.time += time;
    functions.set(key, entry);
  }
  const busy = Math.max(1, wall - idle);
  const share = (t: number) => round(t / busy, 3);
  return {
    name: basename(file, '.cpuprofile'),
    wallSeconds: round(wall / 1e6, 1),
    busyShare: round((wall - idle) / wall, 3),
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, t]) => ({ area, share: share(t) })),
    functions: [...functions.values()]
      .sort((a, b) => b.time - a.time)
      .slice(0, top)
      .map((f) => ({ fn: f.fn, where: f.where, share: share(f.time) })),
  };
}

/**
 * Every profile the run wrote (a folder per process, a file per thread), summarised: each process's threads that
 * were busy for at least a second, named `process · thread`; the module loader's thread, busy only at start, drops
 * out. A profile that cannot be read is named with why.
 */
export function summariseProfiles(dir: string): (ProfileSummary | { name: string; error: string })[] {
  let processes: string[];
  try {
    processes = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: (ProfileSummary | { name: string; error: string })[] = [];
  for (const proc of processes) {
    let files: string[] = [];
    try {
      files = readdirSync(join(dir, proc)).filter((f) => f.endsWith('.cpuprofile'));
    } catch {
      continue;
    }
    if (files.length === 0) out.push({ name: proc, error: 'no profile written (the process did not exit cleanly)' });
    for (const f of files.sort()) {
      // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the main thread.
      const thread = f.split('.')[4] === '0' ? 'main thread' : `thread ${f.split('.')[4]}`;
      try {
        const summary = summariseProfile(join(dir, proc, f));
        if (thread === 'main thread' || summary.wallSeconds * summary.busyShare >= 1) {
          out.push({ ...summary, name: `${proc} · ${thread}` });
        }
      } catch (err) {
        out.push({ name: `${proc} · ${thread}`, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return out;
}
