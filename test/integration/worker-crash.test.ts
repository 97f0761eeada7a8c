import type { ChildProcess } from 'node:child_process';
import { Stack, waitFor } from '../helpers/stack';
import { stopProcess } from '../helpers/temporal-dev-server';
import { spawnTs } from '../helpers/processes';
import { recordReliability } from '../helpers/reliability';

// The worker runs as its own process so it can be killed with SIGKILL in the middle of an incident.
describe('worker killed mid-incident', () => {
  const stack = new Stack({ workers: false, env: { RECONNECT_RETRY_INTERVAL: '3s' } });
  const output: string[] = [];
  let worker: ChildProcess | undefined;

  // `node --import tsx`: the pid we hold is the worker itself, so SIGKILL really kills the worker (a signal to the
  // `tsx` wrapper would leave its child running).
  const startWorker = (): ChildProcess =>
    spawnTs('src/worker.ts', { ...stack.env, WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE! }, output);

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
    const killed = worker!;
    killed.kill('SIGKILL');
    await new Promise((r) => killed.once('exit', r));
    expect(killed.signalCode).toBe('SIGKILL');
    expect(() => process.kill(killed.pid!, 0)).toThrow(); // the worker process is gone
    const killedAt = Date.now();
    worker = startWorker();

    await waitFor(() => stack.smtp.messages.some((m) => m.to.includes('crash-user@example.test')), 60_000, 'email');
    const calls = stack.reconnectCalls(accountId);
    expect(calls).toHaveLength(3);
    for (let i = 1; i < calls.length; i++) {
      // The interval, plus at most the time a new worker takes to start and pick the task up.
      const gap = Date.parse(calls[i]!.at) - Date.parse(calls[i - 1]!.at);
      expect(gap).toBeGreaterThanOrEqual(2900);
      expect(gap).toBeLessThanOrEqual(20_000);
    }
    expect(Date.parse(calls[2]!.at)).toBeGreaterThan(killedAt); // the restarted worker carried the schedule on
    await new Promise((r) => setTimeout(r, 3500));
    expect(stack.reconnectCalls(accountId)).toHaveLength(3);
    const mails = stack.smtp.messages.filter((m) => m.to.includes('crash-user@example.test'));
    expect(mails.filter((m) => m.subject.startsWith('Action needed'))).toHaveLength(1);
    expect(output.join('')).not.toContain(liAt);
    const emails = mails.filter((m) => m.subject.startsWith('Action needed')).length;
    recordReliability({
      injected: 'worker process SIGKILLed after the first failed reconnect; a new worker started',
      times: 1,
      expected: '3 reconnects on the 3 s schedule, 1 email',
      observed: `${stack.reconnectCalls(accountId).length} reconnects, ${emails} email(s)`,
      eventsLost: 0,
      emailsLost: Math.max(0, 1 - emails),
      duplicateEmails: Math.max(0, emails - 1),
    });
  });
});
