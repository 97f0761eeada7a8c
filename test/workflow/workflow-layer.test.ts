import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { BookkeepingActivities } from '../../src/activities/bookkeeping';
import type { UnipileActivities } from '../../src/activities/unipile';
import { signalAccount, type AccountSettings } from '../../src/platform/temporal-client';
import {
  accountWorkflowId,
  reconnectNowUpdate,
  type AttemptRecord,
  type JournalEntry,
  type RecoveryPolicy,
} from '../../src/workflows/account/contract';
import { unipileTaskQueue } from '../../src/workflows/task-queues';
import { sleep, waitFor } from '../helpers/stack';

// The real account workflow with stub activities (no database, SMTP or Unipile): races and run boundaries that are
// hard to reach through the whole stack. Temporal's time-skipping server cannot be downloaded here, so timers are
// short through the policy, as everywhere else.
describe('account workflow with stub activities', () => {
  const taskQueue = `wf-layer-${randomBytes(5).toString('hex')}`;
  let connection: Connection;
  let client: Client;
  let native: NativeConnection;
  let workers: Worker[] = [];
  let runs: Promise<void>[] = [];

  /** What the stub activities saw. */
  const seen = {
    entries: [] as (JournalEntry & { accountId: string })[],
    /** Journal entries written again under a seq already seen with other content (the database keeps the first). */
    conflicts: [] as string[],
    emails: [] as { accountId: string; kind: string; seq: number }[],
    attemptsRunning: 0,
    maxAttemptsRunning: 0,
    attempts: [] as { accountId: string; at: number }[],
  };
  const stubs: Partial<BookkeepingActivities> = {
    // Like the real activity: an entry is keyed by (account, seq), so a local activity run again after a failed
    // workflow task writes nothing twice; the same seq must always carry the same entry.
    async recordAccountState(input) {
      for (const e of input.entries) {
        const before = seen.entries.find((x) => x.accountId === input.accountId && x.seq === e.seq);
        if (!before) seen.entries.push({ ...e, accountId: input.accountId });
        else if (before.type !== e.type || JSON.stringify(before.data) !== JSON.stringify(e.data))
          seen.conflicts.push(`${input.accountId}#${e.seq}`);
      }
    },
    // No provider is in incident here: emails go out as they come due.
    async checkEmailHold() {
      return { held: false };
    },
    async sendAccountEmail(input) {
      seen.emails.push(input);
      return { outcome: 'sent' };
    },
  };
  const restartAccount: UnipileActivities['restartAccount'] = async (input) => {
    seen.attemptsRunning++;
    seen.maxAttemptsRunning = Math.max(seen.maxAttemptsRunning, seen.attemptsRunning);
    seen.attempts.push({ accountId: input.accountId, at: Date.now() });
    await sleep(400);
    seen.attemptsRunning--;
    return { outcome: 'failed', errorType: 'AccountFailedToRestart', reason: 'stub' };
  };

  const settings = (policy: Partial<RecoveryPolicy>): AccountSettings =>
    ({
      taskQueue,
      policy: {
        retryIntervalMs: 1000,
        maxRetries: 3,
        reminderScheduleMs: [],
        cookieStaleAfterMs: 86_400_000,
        ...policy,
      },
    }) as AccountSettings;
  const status = (message: string, receiptId: number) => ({
    status: { message, accountType: 'WHATSAPP', receiptId, receivedAt: new Date().toISOString() },
  });

  beforeAll(async () => {
    const address = process.env.TEST_TEMPORAL_ADDRESS!;
    connection = await Connection.connect({ address });
    client = new Client({ connection });
    native = await NativeConnection.connect({ address });
    workers = [
      await Worker.create({
        connection: native,
        taskQueue,
        workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
        activities: stubs,
      }),
      await Worker.create({
        connection: native,
        taskQueue: unipileTaskQueue(taskQueue),
        activities: { restartAccount },
      }),
    ];
    runs = workers.map((w) => w.run());
  });
  afterAll(async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(runs);
    await native?.close();
    await connection?.close();
  });

  test('"reconnect now" racing scheduled attempts: never two attempts at once, every update answered', async () => {
    const accountId = `race_${randomBytes(4).toString('hex')}`;
    await signalAccount(client, settings({}), accountId, status('ERROR', 1), { provider: 'WHATSAPP' });
    const handle = client.workflow.getHandle(accountWorkflowId(accountId));
    // Updates fired while scheduled attempts (every 1 s, 400 ms each) run and wait.
    const answers: AttemptRecord[] = [];
    for (let i = 0; i < 6; i++) {
      await sleep(150 + ((i * 137) % 300));
      answers.push(await handle.executeUpdate(reconnectNowUpdate));
    }
    await waitFor(() => seen.attempts.filter((a) => a.accountId === accountId).length >= 10, 30_000, '10 attempts');
    expect(seen.maxAttemptsRunning).toBe(1);
    expect(answers).toHaveLength(6);
    for (const a of answers) expect(a).toMatchObject({ trigger: 'manual', outcome: 'failed', action: 'restart' });
    // The schedule was kept: 1 + maxRetries scheduled attempts besides the 6 manual ones, then one email.
    await waitFor(() => seen.emails.some((e) => e.accountId === accountId), 30_000, 'email');
    const attempts = seen.entries.filter((e) => e.accountId === accountId && e.type === 'attempt');
    const triggers = attempts.map((e) => (e.data as { trigger: string }).trigger);
    expect(triggers.filter((t) => t === 'manual')).toHaveLength(6);
    expect(triggers.filter((t) => t === 'schedule')).toHaveLength(4);
    expect(seen.emails.filter((e) => e.accountId === accountId)).toHaveLength(1);
    expect((await handle.describe()).status.name).toBe('RUNNING');
  });

  test('continue-as-new with signals still pending: every one applied once, in order', async () => {
    const accountId = `can_${randomBytes(4).toString('hex')}`;
    const s = settings({});
    // The dev server suggests continue-as-new after 100 events: 240 signals cross several run boundaries.
    const messages = Array.from({ length: 240 }, (_, i) => (i % 2 === 0 ? 'CONNECTING' : 'OK'));
    for (const [i, message] of messages.entries())
      await signalAccount(client, s, accountId, status(message, i + 1), { provider: 'WHATSAPP' });
    const handle = client.workflow.getHandle(accountWorkflowId(accountId));
    const changes = () =>
      seen.entries
        .filter((e) => e.accountId === accountId && e.type === 'status_changed')
        .map((e) => (e.data as { to: string }).to);
    await waitFor(() => changes().length >= messages.length, 60_000, 'every change applied');
    expect(changes()).toEqual(messages);
    expect(seen.conflicts).toEqual([]);
    let runsSeen = 0;
    for await (const _ of client.workflow.list({ query: `WorkflowId="${accountWorkflowId(accountId)}"` })) runsSeen++;
    expect(runsSeen).toBeGreaterThan(1);
    expect((await handle.describe()).status.name).toBe('RUNNING');
  });
});
