import type { ChildProcess } from 'node:child_process';
import { stopProcess } from '../../scripts/toolkit/processes';

export default async function globalTeardown(): Promise<void> {
  await stopProcess((globalThis as { __temporal?: ChildProcess }).__temporal);
}
