import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import knex from 'knex';
import { reconcileScheduleId, type ReconcileSummary } from '../../src/workflows/definitions';
import { OwnPostgres } from '../helpers/own-postgres';
import { recordReliability } from '../helpers/reliability';
import { Stack, waitFor } from '../helpers/stack';
import { freePort } from '../helpers/temporal-dev-server';

// SPEC §11.1: reconciliation never destroys an account that still exists at Unipile. Every case runs real
// reconciliation runs (the schedule triggered as an operator would) against the simulator over HTTP.

interface RunResult {
  summary: ReconcileSummary & { held?: { reason: string; count: number; holdId: number } | null };
  workflowId: string;
  runId: string;
}

async function reconcileNow(stack: Stack): Promise<RunResult> {
  const schedule = stack.client.schedule.getHandle(reconcileScheduleId(stack.config.TEMPORAL_TASK_QUEUE));
  // recentActions keeps the last 10 only: a new run is told by its run id, not by the count.
  const lastRun = (actions: { action: { workflow: { firstExecutionRunId: string } } }[]) =>
    actions[actions.length - 1]?.action.workflow.firstExecutionRunId;
  const before = lastRun((await schedule.describe()).info.recentActions);
  await schedule.trigger();
  let workflowId = '';
  let runId = '';
  await waitFor(
    async () => {
      const actions = (await schedule.describe()).info.recentActions;
      if (actions.length === 0 || lastRun(actions) === before) return false;
      const last = actions[actions.length - 1]!.action;
      workflowId = last.workflow.workflowId;
      runId = last.workflow.firstExecutionRunId;
      return true;
    },
    30_000,
    'a reconciliation run',
  );
  const summary = await stack.client.workflow.getHandle(workflowId, runId).result();
  return { summary, workflowId, runId };
}

const statusOf = async (stack: Stack, id: string): Promise<string | undefined> =>
  (await stack.api$('GET', `/api/accounts/${id}`)).json?.status;

/** Accounts the reconciliation asked to delete: its stored DELETED events (stored before the run returns). */
async function reconcileDeletions(stack: Stack): Promise<string[]> {
  const ids: string[] = [];
  for (const state of ['pending', 'forwarded', 'dead']) {
    const res = await stack.api$('GET', `/api/receipts?state=${state}&limit=500`);
    for (const r of res.json.items as { source: string; accountId: string; message: string }[]) {
      if (r.source === 'reconcile' && r.message === 'DELETED') ids.push(r.accountId);
    }
  }
  return ids;
}

/** Accounts Unipile holds that reconciliation adopts: rows without a user, each OK once its workflow ran. */
async function seed(stack: Stack, n: number, type = 'WHATSAPP'): Promise<string[]> {
  const ids = Array.from({ length: n }, () => stack.sim.createAccount({ type }).id);
  await reconcileNow(stack);
  await waitFor(
    async () => (await Promise.all(ids.map((id) => statusOf(stack, id)))).every((s) => s === 'OK'),
    60_000,
    'seeded accounts OK',
  );
  return ids;
}

async function tally(stack: Stack, ids: string[]): Promise<{ deleted: number; ok: number }> {
  const statuses = await Promise.all(ids.map((id) => statusOf(stack, id)));
  return { deleted: statuses.filter((s) => s === 'DELETED').length, ok: statuses.filter((s) => s === 'OK').length };
}

/** What a customer's backend receives (signature checks are backend-events.test.ts's business). */
class Receiver {
  readonly events: { id: string; type: string; data: Record<string, unknown> }[] = [];
  private server?: Server;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        this.events.push(JSON.parse(raw));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/events`;
  }
  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}

describe('reconciliation: a listing that misses live accounts deletes nothing', () => {
  // No grace, so only the two-run rule and Unipile's own 404 stand between a listing and a deletion.
  const stack = new Stack({ env: { RECONCILE_INTERVAL: '1h', RECONCILE_GRACE: '0s' } });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('a truncated listing (a short page with cursor null) deletes nothing', async () => {
    const ids = await seed(stack, 5);
    for (let run = 0; run < 2; run++) {
      stack.sim.script('list_accounts', [{ result: 'succeed', pageSize: 2, lastPage: true }]);
      const { summary } = await reconcileNow(stack);
      expect(summary.incomplete).toBe(false);
    }
    const wrongly = (await reconcileDeletions(stack)).filter((id) => ids.includes(id));
    const { deleted, ok } = await tally(stack, ids);
    recordReliability({
      injected: 'Unipile listing truncated: a first page of 2 of 5 accounts with cursor null, two runs in a row',
      times: 2,
      expected: 'no account deleted (each missing one is alive at GET /accounts/{id})',
      observed: `${wrongly.length} deletion(s) asked, ${deleted} DELETED, ${ok} of ${ids.length} OK`,
      eventsLost: wrongly.length + deleted,
      emailsLost: 0,
      duplicateEmails: 0,
    });
    expect(wrongly).toEqual([]);
    expect({ deleted, ok }).toEqual({ deleted: 0, ok: ids.length });
  });

  test('an account deleted while the listing pages: no live account is skipped or deleted', async () => {
    await seed(stack, 5);
    const all = [...stack.sim.accounts.keys()].sort();
    const gone = all[0]!;
    // Pages of 2; the first listed account is deleted at Unipile (its webhook lost) between pages 1 and 2.
    stack.sim.script('list_accounts', [{ result: 'succeed', pageSize: 2, deleteAfter: gone }]);
    stack.sim.setDefault('list_accounts', { result: 'succeed', pageSize: 2 });
    const first = await reconcileNow(stack).finally(() => stack.sim.setDefault('list_accounts', { result: 'succeed' }));
    const live = all.filter((id) => id !== gone);
    const wrongly = (await reconcileDeletions(stack)).filter((id) => live.includes(id));
    const { deleted, ok } = await tally(stack, live);
    recordReliability({
      injected: 'an account deleted at Unipile (webhook lost) between two pages of the listing (pages of 2)',
      times: 1,
      expected: 'every live account listed (stable cursor); none deleted; the gone one only after a second 404',
      observed: `${first.summary.seen} listed; ${wrongly.length} live deletion(s) asked, ${deleted} DELETED, ${ok} of ${live.length} OK`,
      eventsLost: wrongly.length + deleted,
      emailsLost: 0,
      duplicateEmails: 0,
    });
    expect(wrongly).toEqual([]);
    expect({ deleted, ok }).toEqual({ deleted: 0, ok: live.length });
    expect(first.summary.seen).toBe(all.length);
    // It was listed on page 1 of that run. Missing from the next listing, Unipile's first 404 decides nothing; its
    // second, in the run after, deletes it (the positive control).
    expect(await reconcileDeletions(stack)).not.toContain(gone);
    expect((await reconcileNow(stack)).summary).toMatchObject({ missing: 1, gone: 0 });
    expect(await reconcileDeletions(stack)).not.toContain(gone);
    expect((await reconcileNow(stack)).summary).toMatchObject({ missing: 1, gone: 1 });
    await waitFor(async () => (await statusOf(stack, gone)) === 'DELETED', 30_000, 'the gone account deleted');
    expect((await tally(stack, live)).ok).toBe(live.length);
  });

  test("a listing from another workspace's API key deletes nothing and adopts nothing", async () => {
    const ids = await seed(stack, 3);
    const all = [...stack.sim.accounts.keys()];
    const foreign = [
      { object: 'Account', id: 'foreignAccount0000000001', type: 'LINKEDIN', name: 'x', sources: [{ status: 'OK' }] },
      { object: 'Account', id: 'foreignAccount0000000002', type: 'MAIL', name: 'y', sources: [{ status: 'OK' }] },
    ];
    stack.sim.setDefault('list_accounts', { result: 'succeed', items: foreign });
    // With another workspace's key, Unipile does not know our accounts either.
    stack.sim.setDefault('get_account', { result: 'http_error', status: 404, type: 'errors/resource_not_found' });
    let held: RunResult['summary']['held'];
    try {
      for (let run = 0; run < 2; run++) held = (await reconcileNow(stack)).summary.held;
    } finally {
      stack.sim.setDefault('list_accounts', { result: 'succeed' });
      stack.sim.setDefault('get_account', { result: 'succeed' });
    }
    const wrongly = (await reconcileDeletions(stack)).filter((id) => all.includes(id));
    const { deleted, ok } = await tally(stack, ids);
    const adopted = (
      await Promise.all(foreign.map(async (f) => (await stack.api$('GET', `/api/accounts/${f.id}`)).status))
    ).filter((s) => s === 200).length;
    recordReliability({
      injected: 'UNIPILE_API_KEY of another workspace: a complete listing of 2 foreign accounts, 404 for ours',
      times: 2,
      expected: 'the run is held (none of the accounts seen before listed): nothing deleted, nothing adopted',
      observed: `held: ${held?.reason ?? 'no'}; ${wrongly.length} deletion(s) asked, ${deleted} DELETED, ${ok} of ${ids.length} OK; ${adopted} foreign adopted`,
      eventsLost: wrongly.length + deleted,
      emailsLost: 0,
      duplicateEmails: 0,
    });
    expect(wrongly).toEqual([]);
    expect({ deleted, ok, adopted }).toEqual({ deleted: 0, ok: ids.length, adopted: 0 });
    expect(held?.reason).toBe('unknown_workspace');
    // The key fixed: the next run is clean and the hold is over.
    expect((await reconcileNow(stack)).summary).toMatchObject({ incomplete: false, gone: 0, held: null });
  });
});

describe('reconciliation: more deletions than RECONCILE_MAX_DELETIONS are held until an operator confirms', () => {
  const receiver = new Receiver();
  let stack: Stack;
  beforeAll(async () => {
    await receiver.start();
    stack = await new Stack({
      env: {
        RECONCILE_INTERVAL: '1h',
        RECONCILE_GRACE: '0s',
        RECONCILE_MAX_DELETIONS: '3',
        BACKEND_WEBHOOK_URL: receiver.url,
        BACKEND_WEBHOOK_SECRET: 'backend-secret-0123456789',
      },
    }).start();
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver.stop();
  });

  const heldMetric = async (): Promise<number | undefined> => {
    const text = (await stack.api$('GET', '/metrics')).text;
    const line = text.split('\n').find((l) => l.startsWith('unipile_reconcile_held '));
    return line ? Number(line.split(' ')[1]) : undefined;
  };

  test('4 accounts gone at once (max 3): none deleted, held and told; confirm deletes exactly them', async () => {
    const ids = await seed(stack, 5);
    const vanished = ids.slice(0, 4);
    for (const id of vanished) stack.sim.accounts.delete(id); // their DELETED webhooks lost
    const runs = [await reconcileNow(stack), await reconcileNow(stack)];
    const held = runs[1]!.summary.held;
    const asked = (await reconcileDeletions(stack)).filter((id) => ids.includes(id));
    const metric = await heldMetric();
    await waitFor(() => receiver.events.some((e) => e.type === 'reconcile.held'), 30_000, 'reconcile.held pushed');
    const pushed = receiver.events.filter((e) => e.type === 'reconcile.held');
    const details = (await stack.client.workflow
      .getHandle(runs[1]!.workflowId, runs[1]!.runId)
      .query<{ currentDetails?: string }>('__temporal_workflow_metadata')) as { currentDetails?: string };
    const before = await tally(stack, ids);

    const confirm = await stack.api$('POST', '/api/reconcile/confirm');
    await waitFor(async () => (await tally(stack, vanished)).deleted === vanished.length, 60_000, 'held deleted');
    const after = await tally(stack, ids);
    recordReliability({
      injected: '4 of 5 accounts gone at Unipile at once (webhooks lost), RECONCILE_MAX_DELETIONS=3, two runs',
      times: 2,
      expected: 'held: none deleted, metric, reconcile.held pushed; POST /api/reconcile/confirm deletes the 4',
      observed: `held ${held?.count ?? 0}; ${asked.length} deletion(s) before confirm, ${before.deleted} DELETED; metric ${metric}; ${pushed.length} event(s); confirm ${confirm.status}; after: ${after.deleted} DELETED, ${after.ok} OK`,
      eventsLost: before.deleted + (after.ok === 1 ? 0 : 1),
      emailsLost: 0,
      duplicateEmails: 0,
    });
    expect(asked).toEqual([]);
    expect(before).toEqual({ deleted: 0, ok: 5 });
    expect(held).toMatchObject({ reason: 'too_many', count: 4 });
    expect(metric).toBe(4);
    expect(pushed[pushed.length - 1]!.data).toMatchObject({ count: 4, reason: 'too_many' });
    expect(details.currentDetails).toMatch(/held/i);
    expect(confirm.status).toBe(202);
    expect(after).toEqual({ deleted: 4, ok: 1 });
    expect((await reconcileDeletions(stack)).sort()).toEqual([...vanished].sort());
    await waitFor(async () => (await heldMetric()) === 0, 10_000, 'the metric back to 0');
    // Nothing is held any more: a second confirm has nothing to apply.
    expect((await stack.api$('POST', '/api/reconcile/confirm')).status).toBe(404);
  });
});

describe('reconciliation: an account it deleted that Unipile reports alive is restored', () => {
  const receiver = new Receiver();
  let stack: Stack;
  beforeAll(async () => {
    await receiver.start();
    stack = await new Stack({
      env: {
        RECONCILE_INTERVAL: '1h',
        RECONCILE_GRACE: '0s',
        BACKEND_WEBHOOK_URL: receiver.url,
        BACKEND_WEBHOOK_SECRET: 'backend-secret-0123456789',
      },
    }).start();
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver.stop();
  });

  const deletedByReconcile = async (ids: string[]) => {
    const saved = ids.map((id) => stack.sim.accounts.get(id)!);
    for (const id of ids) stack.sim.accounts.delete(id);
    await reconcileNow(stack);
    await reconcileNow(stack);
    await waitFor(async () => (await tally(stack, ids)).deleted === ids.length, 30_000, 'deleted by reconcile');
    return saved;
  };

  test('by a status webhook and by a listing: row, workflow, history and pushed event', async () => {
    await stack.api$('PUT', '/api/users/back', { email: 'back@example.test' });
    const byWebhook = await stack.connectedAccount({ userId: 'back', provider: 'GOOGLE' });
    const byListing = await stack.connectedAccount({ userId: 'back', provider: 'OUTLOOK' });
    // One that stays listed (a listing of none of the accounts seen before would be held, not acted on).
    await stack.connectedAccount({ userId: 'back', provider: 'WHATSAPP' });
    await reconcileNow(stack); // all seen
    const saved = await deletedByReconcile([byWebhook, byListing]);
    // It was never gone (a Unipile outage of its own, say): Unipile lists it and tells us it is OK.
    for (const a of saved) stack.sim.accounts.set(a.id, a);
    await stack.postWebhook(byWebhook, 'OK', 'GOOGLE_OAUTH');
    await waitFor(async () => (await statusOf(stack, byWebhook)) === 'OK', 30_000, 'restored by webhook');
    await reconcileNow(stack);
    await waitFor(async () => (await statusOf(stack, byListing)) === 'OK', 30_000, 'restored by listing');

    for (const id of [byWebhook, byListing]) {
      const events = (await stack.api$('GET', `/api/accounts/${id}/events?limit=200`)).json.items as { type: string }[];
      expect(events.map((e) => e.type)).toContain('account_restored');
      // The deleted run stays completed; a new one watches the account.
      let statuses: string[] = [];
      await waitFor(
        async () => {
          statuses = [];
          for await (const r of stack.client.workflow.list({ query: `WorkflowId = "account-${id}"` })) {
            statuses.push(r.status.name);
          }
          return statuses.length === 2;
        },
        30_000,
        'both runs listed',
      );
      expect(statuses.sort()).toEqual(['COMPLETED', 'RUNNING']);
      expect((await stack.api$('GET', `/api/accounts/${id}`)).json.userId).toBe('back');
    }
    await waitFor(
      () =>
        [byWebhook, byListing].every((id) =>
          receiver.events.some((e) => e.type === 'account.restored' && e.data.accountId === id),
        ),
      30_000,
      'account.restored pushed',
    );
    // Restored accounts are watched again: an incident opens and emails as for any account.
    await stack.postWebhook(byWebhook, 'CREDENTIALS', 'GOOGLE_OAUTH');
    await waitFor(
      () => stack.smtp.messages.some((m) => m.to.includes('back@example.test')),
      30_000,
      'the email of a restored account',
    );
  });

  test('a DELETED webhook from Unipile stays final', async () => {
    const id = await stack.connectedAccount({ userId: 'final', provider: 'GOOGLE' });
    stack.sim.emitStatus(id, 'DELETED', 'GOOGLE_OAUTH');
    await waitFor(async () => (await statusOf(stack, id)) === 'DELETED', 30_000, 'deleted by Unipile');
    await stack.postWebhook(id, 'OK', 'GOOGLE_OAUTH');
    await waitFor(
      async () => (await stack.events(id)).some((e) => e.type === 'event_ignored' && e.data.message === 'OK'),
      30_000,
      'the OK recorded and ignored',
    );
    expect(await statusOf(stack, id)).toBe('DELETED');
    expect((await stack.events(id)).map((e) => e.type)).not.toContain('account_restored');
  });
});

/**
 * A PostgreSQL cluster whose clock runs `offset` away from the machine's (and so from the Temporal dev server's),
 * through libfaketime. (The Temporal CLI is a Go binary: Go reads the clock through the vDSO, which libfaketime
 * cannot intercept, so the skew is injected on the database's side; the difference between the two is the same.)
 */
/** Debian's libfaketime (`apt-get install -y faketime`). */
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

class SkewedPostgres extends OwnPostgres {
  constructor(
    port: number,
    private readonly offset: string,
  ) {
    super(port);
  }

  /**
   * Starts the server with libfaketime preloaded (the variables, not the `faketime` wrapper, which waits for every
   * process it faked to exit), without pg_ctl's wait: readiness is polled with a real connection instead.
   */
  async startSkewed(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
    const pgCtl = ['pg_ctl', '-D', join(this.dir, 'data'), '-o', options, '-l', join(this.dir, 'log'), '-W', 'start'];
    const faked = [`LD_PRELOAD=${LIBFAKETIME}`, `FAKETIME=${this.offset}`];
    // runuser resets the environment: env sets the variables for pg_ctl and the server it starts.
    const [file, argv] =
      userInfo().uid === 0
        ? ['runuser', ['-u', 'postgres', '--', 'env', ...faked, ...pgCtl]]
        : ['env', [...faked, ...pgCtl]];
    execFileSync(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    const probe = knex({ client: 'pg', connection: `${this.url}/postgres`, pool: { min: 0, max: 1 } });
    try {
      await waitFor(
        () =>
          probe.raw('select 1').then(
            () => true,
            () => false,
          ),
        60_000,
        'the skewed PostgreSQL',
      );
    } finally {
      await probe.destroy();
    }
  }
}

describe.each([
  ['-2', -2000],
  ['+2', 2000],
])('reconciliation with PostgreSQL %s s away from Temporal', (offset, skewMs) => {
  let pg: SkewedPostgres;
  let stack: Stack;
  beforeAll(async () => {
    pg = new SkewedPostgres(await freePort(), offset).init();
    await pg.startSkewed();
    stack = await new Stack({ pgBase: pg.url, env: { RECONCILE_INTERVAL: '1h', RECONCILE_GRACE: '0s' } }).start();
  });
  afterAll(async () => {
    await stack?.stop();
    pg?.destroy();
  });

  test(`clock skew ${offset} s: every listed account is kept`, async () => {
    const { rows } = await stack.db.raw<{ rows: { now: Date }[] }>('select now() as now');
    const measuredSkew = rows[0]!.now.getTime() - Date.now();
    // The injection is real: the database's clock is off by the offset (within the query's own time).
    expect(Math.abs(measuredSkew - skewMs)).toBeLessThan(700);

    await stack.api$('PUT', '/api/users/skew', { email: 'skew@example.test' });
    const ids: string[] = [];
    for (const provider of ['GOOGLE', 'OUTLOOK', 'WHATSAPP']) {
      ids.push(await stack.connectedAccount({ userId: 'skew', provider }));
    }
    const summaries: ReconcileSummary[] = [];
    for (let run = 0; run < 3; run++) summaries.push((await reconcileNow(stack)).summary);
    const asked = (await reconcileDeletions(stack)).filter((id) => ids.includes(id));
    const { deleted, ok } = await tally(stack, ids);
    recordReliability({
      injected: `PostgreSQL run under libfaketime ${offset} s (measured ${measuredSkew} ms) against the Temporal dev server; 3 runs`,
      times: 3,
      expected: 'no listed account is reported gone or deleted',
      observed: `gone per run ${summaries.map((s) => s.gone).join(',')}; ${asked.length} deletion(s) asked, ${deleted} DELETED, ${ok} of ${ids.length} OK`,
      eventsLost: asked.length + deleted,
      emailsLost: 0,
      duplicateEmails: 0,
    });
    expect(asked).toEqual([]);
    expect(summaries.map((s) => s.gone)).toEqual([0, 0, 0]);
    expect({ deleted, ok }).toEqual({ deleted: 0, ok: ids.length });
  });
});
