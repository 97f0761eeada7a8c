import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Stack, waitFor } from '../helpers/stack';
import { stopProcess } from '../helpers/temporal-dev-server';

// The worker runs as its own process so it can be killed with SIGKILL in the middle of an incident.
describe('worker killed mid-incident', () => {
  const stack = new Stack({ workers: false, env: { RECONNECT_RETRY_INTERVAL: '3s' } });
  const output: string[] = [];
  let worker: ChildProcess | undefined;

  function startWorker(): ChildProcess {
    const child = spawn(
      resolve(__dirname, '../../node_modules/.bin/tsx'),
      [resolve(__dirname, '../../src/worker.ts')],
      {
        env: { ...process.env, ...stack.env, WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE! },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    return child;
  }

  beforeAll(async () => {
    await stack.start();
    worker = startWorker();
  });
  afterAll(async () => {
    await stopProcess(worker);
    await stack.stop();
  });

  test('after SIGKILL and a restart the schedule goes on: still 1 + RECONNECT_MAX_RETRIES attempts and one email', async () => {
    const liAt = 'AQEDAcrash-cookie-000001';
    const { accountId } = await stack.linkedinAccount('crash-user', 'member-crash', liAt);
    stack.script(
      'reconnect',
      [{ result: 'fail' }, { result: 'fail' }, { result: 'fail' }, { result: 'fail' }],
      accountId,
    );
    stack.sim.emitStatus(accountId, 'CREDENTIALS');

    await stack.waitForEvent(accountId, 'attempt', 1);
    worker!.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    const killedAt = Date.now();
    worker = startWorker();

    await waitFor(() => stack.smtp.messages.some((m) => m.to.includes('crash-user@example.test')), 60_000, 'email');
    const calls = stack.reconnectCalls(accountId);
    expect(calls).toHaveLength(3);
    for (let i = 1; i < calls.length; i++) {
      expect(Date.parse(calls[i]!.at) - Date.parse(calls[i - 1]!.at)).toBeGreaterThanOrEqual(2900);
    }
    expect(Date.parse(calls[2]!.at)).toBeGreaterThan(killedAt); // the restarted worker carried the schedule on
    await new Promise((r) => setTimeout(r, 3500));
    expect(stack.reconnectCalls(accountId)).toHaveLength(3);
    const mails = stack.smtp.messages.filter((m) => m.to.includes('crash-user@example.test'));
    expect(mails.filter((m) => m.subject.startsWith('Action needed'))).toHaveLength(1);
    expect(output.join('')).not.toContain(liAt);
  });
});
