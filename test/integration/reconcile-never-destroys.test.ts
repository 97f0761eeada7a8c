import { execFileSync } from 'node:child_process';
import type { Server } from 'node:http';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import knex from 'knex';
import type { ReconcileSummary } from '../../src/workflows/reconcile/contract';
import { maybeRecordHistory } from '../helpers/histories';
import { serve } from '../helpers/http-peer';
import { OwnPostgres } from '../helpers/own-postgres';
import { currentDetails, reconcileNow, type ReconcileRun } from '../helpers/reconcile';
import { recordReliability } from '../helpers/reliability';
import { Stack, waitFor } from '../helpers/stack';
import { freePort } from '../helpers/temporal-dev-server';

// Reconciliation never destroys an account that still exists at Unipile. Every case runs real
// reconciliation runs (the schedule triggered as an operator would) against the simulator over HTTP.

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

/**
 * Events lost for the accounts involved, as a client can see it: receipts for them still pending or dead (an event
 * that never reached its account), plus each account expected DELETED whose history (GET /api/accounts/:id/events)
 * has no status change to DELETED.
 */
async function lostEvents(stack: Stack, involved: string[], expectDeleted: string[]): Promise<number> {
  let lost = 0;
  for (const state of ['pending', 'dead']) {
    const res = await stack.api$('GET', `/api/receipts?state=${state}&limit=500`);
    lost += (res.json.items as { accountId: string }[]).filter((r) => involved.includes(r.accountId)).length;
  }
  for (const id of expectDeleted) {
    const events = (await stack.api$('GET', `/api/accounts/${id}/events?limit=200`)).json.items as {
      type: string;
      data: { to?: string };
    }[];
    if (!events.some((e) => e.type === 'status_changed' && e.data.to === 'DELETED')) lost++;
  }
  return lost;
}

/** What a customer's backend receives (signature checks are backend-events.test.ts's business). */
class Receiver {
  readonly events: { id: string; type: string; data: Record<string, unknown> }[] = [];
  private server?: Server;
  url = '';
  async start(): Promise<void> {
    const peer = await serve((_req, raw, res) => {
      this.events.push(JSON.parse(raw));
      res.writeHead(204).end();
    });
    this.server = peer.server;
    this.url = `${peer.url}/events`;
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
    const PAGE = 2;
    const RUNS = 2;
    for (let run = 0; run < RUNS; run++) {
      stack.sim.script('list_accounts', [{ result: 'succeed', pageSize: PAGE, lastPage: true }]);
      const { summary } = await reconcileNow(stack);
      expect(summary.incomplete).toBe(false);
    }
    const wrongly = (await reconcileDeletions(stack)).filter((id) => ids.includes(id));
    const { deleted, ok } = await tally(stack, ids);
    recordReliability({
      injected: `Unipile listing truncated: a first page of ${PAGE} of ${ids.length} accounts with cursor null, ${RUNS} runs in a row`,
      times: RUNS,
      expected: 'no account deleted (each missing one is alive at GET /accounts/{id})',
      observed: `${wrongly.length} deletion(s) asked, ${deleted} DELETED, ${ok} of ${ids.length} OK`,
      eventsLost: wrongly.length + deleted,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(wrongly).toEqual([]);
    expect({ deleted, ok }).toEqual({ deleted: 0, ok: ids.length });
  });

  test('an account deleted while the listing pages: no live account is skipped or deleted', async () => {
    await seed(stack, 5);
    const all = [...stack.sim.accounts.keys()].sort();
    const gone = all[0]!;
    // Pages of PAGE; the first listed account is deleted at Unipile (its webhook lost) between pages 1 and 2.
    const PAGE = 2;
    stack.sim.script('list_accounts', [{ result: 'succeed', pageSize: PAGE, deleteAfter: gone }]);
    stack.sim.setDefault('list_accounts', { result: 'succeed', pageSize: PAGE });
    const first = await reconcileNow(stack).finally(() => stack.sim.setDefault('list_accounts', { result: 'succeed' }));
    const live = all.filter((id) => id !== gone);
    const wrongly = (await reconcileDeletions(stack)).filter((id) => live.includes(id));
    const { deleted, ok } = await tally(stack, live);
    recordReliability({
      injected: `an account deleted at Unipile (webhook lost) between two pages of the listing (pages of ${PAGE})`,
      times: 1,
      expected: 'every live account listed (stable cursor); none deleted; the gone one only after a second 404',
      observed: `${first.summary.seen} listed; ${wrongly.length} live deletion(s) asked, ${deleted} DELETED, ${ok} of ${live.length} OK`,
      eventsLost: wrongly.length + deleted,
      emailsLost: null,
      duplicateEmails: null,
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
    let held: ReconcileRun['summary']['held'];
    const RUNS = 2;
    let confirm: Awaited<ReturnType<Stack['api$']>> | undefined;
    try {
      for (let run = 0; run < RUNS; run++) held = (await reconcileNow(stack)).summary.held;
      // An operator confirming this hold would delete every account (each GET answers 404 under the wrong key).
      confirm = await stack.api$('POST', '/api/reconcile/confirm');
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
      injected: `UNIPILE_API_KEY of another workspace: a complete listing of ${foreign.length} foreign accounts, 404 for ours; ${RUNS} runs, then a confirm`,
      times: RUNS,
      expected:
        'the run is held (none of the accounts seen before listed), and its hold cannot be confirmed (409): nothing deleted, nothing adopted',
      observed: `held: ${held?.reason ?? 'no'}; confirm ${confirm?.status} ${confirm?.json?.error?.code ?? ''}; ${wrongly.length} deletion(s) asked, ${deleted} DELETED, ${ok} of ${ids.length} OK; ${adopted} foreign adopted`,
      eventsLost: wrongly.length + deleted,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(wrongly).toEqual([]);
    expect({ deleted, ok, adopted }).toEqual({ deleted: 0, ok: ids.length, adopted: 0 });
    expect(held?.reason).toBe('unknown_workspace');
    expect(confirm?.status).toBe(409);
    expect(confirm?.json.error.code).toBe('hold_not_confirmable');
    expect(confirm?.json.error.message).toMatch(/UNIPILE_API_KEY/);
    // The key fixed: the next run is clean and the hold is over.
    expect((await reconcileNow(stack)).summary).toMatchObject({ incomplete: false, gone: 0, held: null });
  });
});

describe('reconciliation: more deletions than RECONCILE_MAX_DELETIONS are held until an operator confirms', () => {
  const receiver = new Receiver();
  const MAX_DELETIONS = 3;
  // A confirmation keeps the two-404 rule: it waits this long between Unipile's two answers.
  const GRACE_MS = 8_000;
  let stack: Stack;
  beforeAll(async () => {
    await receiver.start();
    stack = await new Stack({
      env: {
        RECONCILE_INTERVAL: '1h',
        RECONCILE_GRACE: `${GRACE_MS / 1000}s`,
        RECONCILE_MAX_DELETIONS: String(MAX_DELETIONS),
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

  /** Seeds `n` accounts, then `gone` of them vanish at Unipile (their DELETED webhooks lost) and one run holds. */
  const heldRun = async (n: number, gone: number) => {
    const ids = await seed(stack, n);
    const vanished = ids.slice(0, gone);
    const saved = vanished.map((id) => stack.sim.accounts.get(id)!);
    for (const id of vanished) stack.sim.accounts.delete(id);
    const run = await reconcileNow(stack);
    return { ids, vanished, saved, run };
  };

  test('4 accounts gone at once (max 3): none deleted, held and told; confirm deletes exactly them', async () => {
    const ids = await seed(stack, 5);
    const vanished = ids.slice(0, MAX_DELETIONS + 1);
    for (const id of vanished) stack.sim.accounts.delete(id); // their DELETED webhooks lost
    const RUNS = 2;
    const runs: ReconcileRun[] = [];
    for (let run = 0; run < RUNS; run++) runs.push(await reconcileNow(stack));
    const last = runs[runs.length - 1]!;
    const held = last.summary.held;
    const asked = (await reconcileDeletions(stack)).filter((id) => ids.includes(id));
    const metric = await heldMetric();
    await waitFor(() => receiver.events.some((e) => e.type === 'reconcile.held'), 30_000, 'reconcile.held pushed');
    const pushed = receiver.events.filter((e) => e.type === 'reconcile.held');
    const details = await currentDetails(stack, last.workflowId, last.runId);
    const before = await tally(stack, ids);

    const confirm = await stack.api$('POST', '/api/reconcile/confirm');
    await waitFor(async () => (await tally(stack, vanished)).deleted === vanished.length, 60_000, 'held deleted');
    const after = await tally(stack, ids);
    const lost = await lostEvents(stack, ids, vanished);
    recordReliability({
      injected: `${vanished.length} of ${ids.length} accounts gone at Unipile at once (webhooks lost), RECONCILE_MAX_DELETIONS=${MAX_DELETIONS}, ${RUNS} runs`,
      times: RUNS,
      expected: `held: none deleted, metric, reconcile.held pushed; POST /api/reconcile/confirm deletes the ${vanished.length}`,
      observed: `held ${held?.count ?? 0}; ${asked.length} deletion(s) before confirm, ${before.deleted} DELETED; metric ${metric}; ${pushed.length} event(s); confirm ${confirm.status}; after: ${after.deleted} DELETED, ${after.ok} OK; ${lost} event(s) lost`,
      eventsLost: lost,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(asked).toEqual([]);
    expect(before).toEqual({ deleted: 0, ok: ids.length });
    expect(held).toMatchObject({ reason: 'too_many', count: vanished.length });
    expect(metric).toBe(vanished.length);
    expect(pushed[pushed.length - 1]!.data).toMatchObject({ count: vanished.length, reason: 'too_many' });
    expect(details).toMatch(/held/i);
    expect(confirm.status).toBe(202);
    expect(after).toEqual({ deleted: vanished.length, ok: ids.length - vanished.length });
    expect(lost).toBe(0);
    expect((await reconcileDeletions(stack)).sort()).toEqual([...vanished].sort());
    await waitFor(async () => (await heldMetric()) === 0, 30_000, 'the metric back to 0');
    // Nothing is held any more: a second confirm has nothing to apply.
    expect((await stack.api$('POST', '/api/reconcile/confirm')).status).toBe(404);
  });

  test('a confirmed hold deletes none on one 404: it waits RECONCILE_GRACE, asks again, keeps one alive meanwhile', async () => {
    const { ids, vanished, saved, run } = await heldRun(5, MAX_DELETIONS + 1);
    expect(run.summary.held).toMatchObject({ reason: 'too_many', count: vanished.length });
    const confirm = await stack.api$('POST', '/api/reconcile/confirm');
    expect(confirm.status).toBe(202);
    const workflowId = confirm.json.workflowId as string;
    const confirmedAt = Date.now();
    // Every held account answered its first 404: the confirmation says it is waiting (or, wrongly, deleted some).
    let details = '';
    await waitFor(
      async () =>
        /waiting/i.test((details = await currentDetails(stack, workflowId).catch(() => ''))) ||
        (await reconcileDeletions(stack)).some((id) => ids.includes(id)),
      60_000,
      'the confirmation waiting for second answers',
    );
    const deletedOnOneAnswer = (await reconcileDeletions(stack)).filter((id) => ids.includes(id));
    const waitedFor = Date.now() - confirmedAt;
    // Meanwhile one of them turns out alive (a Unipile outage of its own, say): its second answer is a 200.
    const back = saved[0]!;
    stack.sim.accounts.set(back.id, back);
    const result = (await stack.client.workflow.getHandle(workflowId).result()) as { deleted: number; kept: number };
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, workflowId, 'reconcile-confirm-second-404');
    const elapsed = Date.now() - confirmedAt;
    const stillGone = vanished.filter((id) => id !== back.id);
    // The confirmation stores each deletion as a receipt; the accounts apply them a moment later.
    await waitFor(async () => (await tally(stack, ids)).deleted >= stillGone.length, 30_000, 'deletions applied').catch(
      () => undefined,
    );
    const after = await tally(stack, ids);
    const lost = await lostEvents(stack, ids, stillGone);
    recordReliability({
      injected: `a confirmed hold of ${vanished.length} accounts answering 404 (RECONCILE_GRACE ${GRACE_MS} ms); 1 of them alive again between the two answers`,
      times: 1,
      expected: 'nothing deleted on a first 404; after the grace, the second 404s deleted and the alive one kept',
      observed: `${deletedOnOneAnswer.length} deleted on one answer (details: "${details}" after ${waitedFor} ms); finished after ${elapsed} ms with ${result.deleted} deleted, ${result.kept} kept; ${after.deleted} DELETED, ${after.ok} OK; ${lost} event(s) lost`,
      eventsLost: lost,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(deletedOnOneAnswer).toEqual([]);
    expect(details).toMatch(/waiting/i);
    expect(details).toMatch(/RECONCILE_GRACE/);
    expect(elapsed).toBeGreaterThanOrEqual(GRACE_MS);
    expect(result).toEqual({ deleted: stillGone.length, kept: 1 });
    expect(after).toEqual({ deleted: stillGone.length, ok: ids.length - stillGone.length });
    expect((await statusOf(stack, back.id)) ?? '').toBe('OK');
    expect(lost).toBe(0);
  });

  test('a confirmation that stopped (its workflow terminated) is confirmed again and goes on', async () => {
    const { ids, vanished, run } = await heldRun(5, MAX_DELETIONS + 1);
    const holdId = run.summary.held?.holdId;
    const first = await stack.api$('POST', '/api/reconcile/confirm', { holdId });
    expect(first.status).toBe(202);
    const workflowId = first.json.workflowId as string;
    const handle = stack.client.workflow.getHandle(workflowId);
    // An operator (or a crash of the cluster's history) ends it half-way, while it waits between two answers.
    await waitFor(
      async () =>
        (await handle.describe()).status.name !== 'RUNNING' || /waiting/i.test(await currentDetails(stack, workflowId)),
      60_000,
      'the confirmation under way',
    );
    await handle.terminate('stopped half-way').catch(() => undefined);
    const again = await stack.api$('POST', '/api/reconcile/confirm', { holdId });
    const newest = await stack.api$('POST', '/api/reconcile/confirm');
    if (again.status === 202) {
      await waitFor(async () => (await tally(stack, vanished)).deleted === vanished.length, 60_000, 'held deleted');
    }
    const after = await tally(stack, ids);
    recordReliability({
      injected: `the workflow applying a confirmed hold of ${vanished.length} accounts terminated half-way`,
      times: 1,
      expected:
        'confirming again (by id or the newest) resumes it (202) and the held accounts Unipile still 404s are deleted',
      observed: `confirm again ${again.status}, newest ${newest.status}; after: ${after.deleted} DELETED, ${after.ok} OK`,
      eventsLost: await lostEvents(stack, ids, vanished),
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ holdId, workflowId });
    expect([202, 404]).toContain(newest.status);
    expect(after).toEqual({ deleted: vanished.length, ok: ids.length - vanished.length });
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
    const RUNS = 3;
    for (let run = 0; run < RUNS; run++) summaries.push((await reconcileNow(stack)).summary);
    const asked = (await reconcileDeletions(stack)).filter((id) => ids.includes(id));
    const { deleted, ok } = await tally(stack, ids);
    recordReliability({
      injected: `PostgreSQL run under libfaketime ${offset} s (measured ${measuredSkew} ms) against the Temporal dev server; ${RUNS} runs`,
      times: RUNS,
      expected: 'no listed account is reported gone or deleted',
      observed: `gone per run ${summaries.map((s) => s.gone).join(',')}; ${asked.length} deletion(s) asked, ${deleted} DELETED, ${ok} of ${ids.length} OK`,
      eventsLost: asked.length + deleted,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(asked).toEqual([]);
    expect(summaries.map((s) => s.gone)).toEqual(Array<number>(RUNS).fill(0));
    expect({ deleted, ok }).toEqual({ deleted: 0, ok: ids.length });
  });
});
