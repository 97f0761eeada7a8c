// The API's queue in front of an account workflow's updates: one at a time per account, bounded, Temporal's errors
// answered as the routes document. The workflow handle is a stand-in here; the abuse and account-rules suites send
// the same routes to a real workflow.
import { WorkflowNotFoundError } from '@temporalio/client';
import { HttpError } from '../../src/api/http/errors';
import type { ApiDeps } from '../../src/api/http/deps';
import { MAX_WAITING_PER_ACCOUNT, updateAccountWorkflow } from '../../src/api/backend/workflow-updates';

const deps = () => ({ temporal: { workflow: { getHandle: (id: string) => ({ id }) } } }) as unknown as ApiDeps;
const errors = { notPossible: 'no', notFound: new HttpError(409, 'not_watched', 'none') };

/** A deferred the test resolves by hand, so that requests pile up behind the first. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

test('one update at a time per account; other accounts are not held up', async () => {
  const d = deps();
  let running = 0;
  let most = 0;
  const g = gate();
  const ask = async () => {
    running++;
    most = Math.max(most, running);
    await g.opened;
    running--;
    return 'done';
  };
  const same = Array.from({ length: 10 }, () => updateAccountWorkflow(d, 'acc_a', errors, ask));
  // Another account's update runs while acc_a's queue waits on the gate.
  const other = await Promise.race([
    updateAccountWorkflow(d, 'acc_b', errors, async () => 'b'),
    new Promise((r) => setTimeout(() => r('held up'), 1000)),
  ]);
  g.open();
  const answers = await Promise.all(same);
  expect({ other, most, answers: new Set(answers) }).toEqual({ other: 'b', most: 1, answers: new Set(['done']) });
});

test('past the bound the answer is 429 busy at once, and the queue is usable again afterwards', async () => {
  const d = deps();
  const g = gate();
  const ask = async () => {
    await g.opened;
    return 'done';
  };
  const settled = Array.from({ length: MAX_WAITING_PER_ACCOUNT + 6 }, () =>
    updateAccountWorkflow(d, 'acc_c', errors, ask).then(
      (v) => v,
      (e: HttpError) => `${e.status} ${e.code} ${e.retryAfterSeconds}`,
    ),
  );
  await new Promise((r) => setImmediate(r));
  g.open();
  const answers = await Promise.all(settled);
  const counts = answers.reduce<Record<string, number>>((m, a) => ({ ...m, [a]: (m[a] ?? 0) + 1 }), {});
  expect(counts).toEqual({ done: MAX_WAITING_PER_ACCOUNT + 1, '429 busy 1': 5 });
  await expect(updateAccountWorkflow(d, 'acc_c', errors, async () => 'again')).resolves.toBe('again');
});

test('a fresh answer under the lock skips the update; Temporal errors become documented statuses', async () => {
  const d = deps();
  let asked = 0;
  await expect(
    updateAccountWorkflow(
      d,
      'acc_d',
      errors,
      async () => ++asked,
      async () => 42,
    ),
  ).resolves.toBe(42);
  expect(asked).toBe(0);
  const status = (err: unknown) =>
    updateAccountWorkflow(d, 'acc_d', errors, () => Promise.reject(err)).catch((e: HttpError) => [e.status, e.code]);
  expect(await status(new WorkflowNotFoundError('gone', 'account-acc_d', undefined))).toEqual([409, 'not_watched']);
  const exhausted = Object.assign(new Error('limit on in-flight updates'), { code: 8, details: '', metadata: {} });
  expect(await status(exhausted)).toEqual([429, 'busy']);
  expect(await status(new Error('deadline exceeded'))).toEqual([503, 'unavailable']);
});
