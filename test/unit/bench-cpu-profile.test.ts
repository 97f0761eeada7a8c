// The benchmark's readings of where the time went: a CPU profile summarised (busy share, areas, functions) and the
// cores per part between two /proc snapshots. Synthetic inputs with known answers.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuBetween } from '../../bench/cpu';
import { summariseProfile } from '../../bench/profile';

test('a profile: idle is not busy; self time lands in our folder, a package, Node, or the collector', () => {
  const frame = (id: number, functionName: string, url = '') => ({
    id,
    callFrame: { functionName, url, lineNumber: 9 },
  });
  const profile = {
    nodes: [
      frame(1, '(root)'),
      frame(2, '(idle)'),
      frame(3, 'store', 'file:///app/src/inbound/inbound-events.ts'),
      frame(4, 'query', 'file:///app/node_modules/pg/lib/client.js'),
      frame(5, '(garbage collector)'),
      frame(6, 'emit', 'node:events'),
    ],
    startTime: 0,
    endTime: 10_000_000,
    // 10 samples of 1 s: 5 idle, 2 ours, 1 pg, 1 GC, 1 Node.
    samples: [2, 2, 2, 2, 2, 3, 3, 4, 5, 6],
    timeDeltas: Array(10).fill(1_000_000),
  };
  const file = join(mkdtempSync(join(tmpdir(), 'profile-')), 'p.cpuprofile');
  writeFileSync(file, JSON.stringify(profile));
  const s = summariseProfile(file);
  expect(s.wallSeconds).toBe(10);
  expect(s.busyShare).toBe(0.5);
  expect(s.areas).toEqual([
    { area: 'src/inbound', share: 0.4 },
    { area: 'pg', share: 0.2 },
    { area: 'garbage collector', share: 0.2 },
    { area: 'Node.js core', share: 0.2 },
  ]);
  expect(s.functions[0]).toEqual({ fn: 'store', where: 'src/inbound:inbound-events.ts:10', share: 0.4 });
});

test('cores per part: a process started between two snapshots counts from its start; parts sum', () => {
  const before = { at: 0, seconds: { 'worker|10': 5, 'API|11': 2, postgres: 1 } };
  const after = { at: 10_000, seconds: { 'worker|10': 9, 'worker|12': 3, 'API|11': 2, postgres: 6 } };
  const share = cpuBetween(before, after);
  expect(share.wallSeconds).toBe(10);
  expect(share.cores).toEqual([
    { part: 'worker', cores: 0.7 },
    { part: 'postgres', cores: 0.5 },
  ]);
  expect(share.totalCores).toBe(1.2);
});
