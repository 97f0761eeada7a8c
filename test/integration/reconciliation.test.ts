import { reconcileScheduleId, type ReconcileSummary } from '../../src/workflows/reconcile/contract';
import { maybeRecordHistory } from '../helpers/histories';
import { reconcileNow as reconcileRun } from '../helpers/reconcile';
import { sleep, Stack, waitFor } from '../helpers/stack';

// A dropped webhook must not leave an account wrong forever: the reconcile-accounts schedule compares Unipile's list
// with ours. Triggered here as an operator would (the Temporal UI's "Trigger" button does the same call).
const reconcileNow = async (stack: Stack): Promise<ReconcileSummary> => (await reconcileRun(stack)).summary;

describe('reconciliation with Unipile', () => {
  // No grace: an account Unipile does not list is asked of Unipile even if it is seconds old, and its second 404
  // (in the next run) deletes it (the default waits RECONCILE_GRACE between the two).
  const stack = new Stack({ env: { RECONCILE_INTERVAL: '1h', RECONCILE_GRACE: '0s' } });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const account = async (id: string) => (await stack.api$('GET', `/api/accounts/${id}`)).json;

  test('the schedule exists after the workers started, at RECONCILE_INTERVAL', async () => {
    const described = await stack.client.schedule
      .getHandle(reconcileScheduleId(stack.config.TEMPORAL_TASK_QUEUE))
      .describe();
    expect(described.spec.intervals?.[0]?.every).toBe(3_600_000);
  });

  test('a dropped status webhook, an account gone at Unipile and one we never heard of are all caught', async () => {
    await stack.api$('PUT', '/api/users/rec', { email: 'rec@example.test' });
    const dropped = await stack.connectedAccount({ userId: 'rec', provider: 'GOOGLE' });
    const vanished = await stack.connectedAccount({ userId: 'rec', provider: 'WHATSAPP' });
    // Unipile changes state without telling us (webhooks lost).
    stack.sim.accounts.get(dropped)!.sources.forEach((s) => (s.status = 'CREDENTIALS'));
    stack.sim.accounts.delete(vanished);
    const stranger = stack.sim.createAccount({ type: 'TELEGRAM' });

    const first = await reconcileRun(stack);
    // Unipile's first 404 for the vanished account decides nothing; its second, in the next run, deletes it.
    expect(first.summary).toMatchObject({ incomplete: false, differing: 1, unknown: 1, missing: 1, gone: 0 });
    const second = await reconcileRun(stack);
    expect(second.summary).toMatchObject({ incomplete: false, missing: 1, gone: 1 });
    // The scheduled run's two paths (first 404 kept, second 404 deleted) as replay fixtures.
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, first.workflowId, 'reconcile-run-first-404', first.runId);
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, second.workflowId, 'reconcile-run-second-404', second.runId);

    await waitFor(async () => (await account(dropped)).status === 'CREDENTIALS', 30_000, 'dropped webhook caught');
    await waitFor(
      () => stack.smtp.messages.some((m) => m.to.includes('rec@example.test') && m.subject.startsWith('Action needed')),
      30_000,
      'the email for it',
    );
    await waitFor(async () => (await account(vanished)).status === 'DELETED', 30_000, 'gone account deleted');
    await waitFor(async () => (await account(stranger.id)).status === 'OK', 30_000, 'unknown account tracked');
    expect((await account(stranger.id)).userId).toBeNull();

    // What the reconciliation did is visible as receipts from the source `reconcile`.
    const receipts = (await stack.api$('GET', '/api/receipts?state=forwarded&limit=500')).json.items as {
      source: string;
      accountId: string;
      message: string;
    }[];
    const reconciled = receipts.filter((r) => r.source === 'reconcile').map((r) => `${r.accountId}:${r.message}`);
    expect(reconciled.sort()).toEqual([`${dropped}:CREDENTIALS`, `${vanished}:DELETED`, `${stranger.id}:OK`].sort());

    // A second run finds nothing new: it is idempotent.
    expect(await reconcileNow(stack)).toMatchObject({ incomplete: false, differing: 0, unknown: 0, gone: 0 });
  });

  test('Unipile unreachable during the listing: the run ends incomplete and marks nothing gone', async () => {
    const kept = await stack.connectedAccount({ userId: 'rec-down', provider: 'OUTLOOK' });
    stack.sim.setDefault('list_accounts', { result: 'http_error', status: 401, type: 'errors/invalid_api_key' });
    try {
      const summary = await reconcileNow(stack);
      expect(summary).toMatchObject({ incomplete: true, gone: 0 });
    } finally {
      stack.sim.setDefault('list_accounts', { result: 'succeed' });
    }
    expect((await account(kept)).status).toBe('OK');
  });
});

describe('reconciliation: a new account Unipile does not list yet is not deleted', () => {
  const GRACE_MS = 20_000;
  const stack = new Stack({ env: { RECONCILE_INTERVAL: '1h', RECONCILE_GRACE: `${GRACE_MS / 1000}s` } });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('seen before and no longer listed → DELETED after two 404s a grace apart; never listed and young → kept', async () => {
    const listed = await stack.connectedAccount({ userId: 'grace', provider: 'GOOGLE' });
    // One that stays listed (a listing of none of the accounts seen before would be held, not acted on).
    await stack.connectedAccount({ userId: 'grace', provider: 'WHATSAPP' });
    expect(await reconcileNow(stack)).toMatchObject({ incomplete: false, gone: 0 }); // `listed` is seen now
    const fresh = await stack.connectedAccount({ userId: 'grace', provider: 'OUTLOOK' });
    stack.sim.accounts.delete(listed);
    stack.sim.accounts.delete(fresh); // e.g. Unipile's list lagging behind a connection made a moment ago
    // `fresh` is younger than the grace: not even missing. `listed` gets its first 404.
    expect(await reconcileNow(stack)).toMatchObject({ incomplete: false, missing: 1, gone: 0, held: null });
    // A second 404 before the grace has passed confirms nothing either.
    expect(await reconcileNow(stack)).toMatchObject({ incomplete: false, gone: 0 });
    await sleep(GRACE_MS); // the grace is the rule under test: let it pass
    // `listed`'s second 404, a grace after its first: deleted. `fresh` now counts as missing: its first 404 only.
    expect(await reconcileNow(stack)).toMatchObject({ incomplete: false, missing: 2, gone: 1 });
    await waitFor(
      async () => (await stack.api$('GET', `/api/accounts/${listed}`)).json.status === 'DELETED',
      30_000,
      'the listed account deleted',
    );
    expect((await stack.api$('GET', `/api/accounts/${fresh}`)).json.status).toBe('OK');
  });
});
