import { spawn, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { signToken } from '../../src/platform/tokens';
import { serve } from '../helpers/http-peer';
import { spawnTs } from '../helpers/processes';
import { cookieBody, Stack, waitFor } from '../helpers/stack';
import { freePort, stopProcess } from '../helpers/temporal-dev-server';

// Promises made in README.md and docs/ that no other test checked, each read through what a client has: HTTP
// answers, /metrics, the Temporal client. The database is written only to inject a fault no client can cause.

/** The value of one series in a Prometheus text exposition (0 when absent). */
function series(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!] as const),
    );
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[3]);
  }
  return 0;
}

describe('docs/OPERATIONS.md "Metrics" and "Worker metrics": every series named, moved by what it counts', () => {
  const stack = new Stack({
    workers: false,
    env: { RECEIPT_MAX_ATTEMPTS: '2', RECEIPT_RETRY_MAX_DELAY: '1s', OPS_CACHE_TTL: '100ms' },
  });
  const output: string[] = [];
  let worker: ChildProcess | undefined;
  const scrape = async () => (await fetch(`${stack.api.url}/metrics`)).text();
  const workerScrape = async () =>
    (await fetch(`http://127.0.0.1:${stack.env.WORKER_METRICS_PORT}/metrics`).catch(() => null))?.text() ?? '';

  beforeAll(async () => {
    await stack.start();
    // The worker in its own process, as production runs it, serving its own /metrics.
    stack.env.WORKER_METRICS_PORT = String(await freePort());
    worker = spawnTs(
      'src/worker/main.ts',
      { ...stack.env, WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE! },
      output,
    );
  });
  afterAll(async () => {
    await stopProcess(worker);
    await stack.stop();
  });

  test('API: webhooks by result, receipts forwarded by outcome, the forward lag, Node defaults', async () => {
    const accountId = await stack.connectedAccount({ userId: 'metrics-a', provider: 'WHATSAPP' });
    const gone = await stack.connectedAccount({ userId: 'metrics-b', provider: 'TELEGRAM' });
    expect((await stack.api$('DELETE', `/api/accounts/${gone}`)).status).toBe(202);
    await stack.accountWhen(gone, (a) => a.status === 'DELETED');
    const before = await scrape();
    const webhooks = (result: string, text: string) =>
      series(text, 'unipile_webhooks_received_total', { source: 'account_status', result });
    const forwarded = (outcome: string, text: string) => series(text, 'unipile_receipts_forwarded_total', { outcome });

    expect((await stack.postWebhook(accountId, 'ERROR', 'WHATSAPP')).status).toBe(200); // stored, signalled
    expect((await stack.postWebhook(accountId, 'CREATION_FAIL', 'WHATSAPP')).status).toBe(200); // no_action
    expect((await stack.postWebhook(gone, 'OK', 'TELEGRAM')).status).toBe(200); // ignored_deleted
    expect((await stack.postWebhook(accountId, 'OK', 'WHATSAPP', 'wrong-secret-0123456789')).status).toBe(401);
    const invalid = await stack.api$(
      'POST',
      '/webhooks/unipile/account-status',
      { AccountStatus: {} },
      {
        'unipile-auth': stack.config.UNIPILE_WEBHOOK_SECRET,
      },
    );
    expect(invalid.status).toBe(400);

    let after = '';
    await waitFor(
      async () => {
        after = await scrape();
        return (
          forwarded('signalled', after) >= forwarded('signalled', before) + 1 &&
          forwarded('no_action', after) >= forwarded('no_action', before) + 1 &&
          forwarded('ignored_deleted', after) >= forwarded('ignored_deleted', before) + 1
        );
      },
      30_000,
      'each forward outcome counted',
    );
    expect(webhooks('stored', after) - webhooks('stored', before)).toBe(3);
    expect(webhooks('unauthorized', after) - webhooks('unauthorized', before)).toBe(1);
    expect(webhooks('invalid', after) - webhooks('invalid', before)).toBe(1);
    expect(series(after, 'unipile_receipt_forward_lag_seconds_count')).toBeGreaterThanOrEqual(
      series(before, 'unipile_receipt_forward_lag_seconds_count') + 3,
    );
    expect(after).toMatch(/^process_cpu_user_seconds_total /m); // Node's defaults
    expect(after).toMatch(/^nodejs_heap_size_used_bytes /m);
    // Read at scrape time: nothing waits once all three are forwarded.
    await waitFor(
      async () => series(await scrape(), 'unipile_receipts', { state: 'pending' }) === 0,
      10_000,
      'none pending',
    );
    expect(series(after, 'unipile_reconcile_held')).toBe(0);
    expect(after).toMatch(/^unipile_reconcile_held 0$/m);
  });

  test('a stored payload that no longer parses is parked at once: unipile_receipts_dead_total, the dead gauge', async () => {
    const before = await scrape();
    const account = stack.sim.createAccount({ type: 'WHATSAPP' });
    // Injected: a stored event whose payload no longer parses (as after a format change). No client can store one.
    const [row] = await stack
      .db('webhook_receipts')
      .insert({
        source: 'account_status',
        account_id: account.id,
        message: 'ERROR',
        payload: JSON.stringify({ AccountStatus: { account_id: account.id } }),
      })
      .returning('id');
    const id = Number(row.id);
    let dead: { id: number; attempts: number; lastError: string } | undefined;
    await waitFor(
      async () => {
        const items = (await stack.api$('GET', '/api/receipts?state=dead')).json.items as NonNullable<typeof dead>[];
        dead = items.find((r) => r.id === id);
        return !!dead;
      },
      30_000,
      'the receipt parked',
    );
    // Not retried: trying it again could not make it parse (RECEIPT_MAX_ATTEMPTS, 2 here, is for Temporal's refusals).
    expect(dead).toMatchObject({ attempts: 1, lastError: expect.stringContaining('invalid stored receipt') });
    let after = '';
    await waitFor(
      async () => {
        after = await scrape();
        return series(after, 'unipile_receipts', { state: 'dead' }) >= 1;
      },
      10_000,
      'the dead gauge',
    );
    const failures = (kind: string, text: string) => series(text, 'unipile_receipt_forward_failures_total', { kind });
    expect(series(after, 'unipile_receipts_dead_total') - series(before, 'unipile_receipts_dead_total')).toBe(1);
    expect(failures('permanent', after)).toBe(failures('permanent', before));
    expect(failures('transient', after)).toBe(failures('transient', before));
  });

  test('worker: unipile_recovery_attempts{action,outcome}, unipile_emails{kind,outcome} and the SDK temporal_*', async () => {
    const restarted = await stack.connectedAccount({ userId: 'metrics-w1', provider: 'WHATSAPP' });
    stack.script('restart', [{ result: 'succeed' }], restarted);
    stack.sim.emitStatus(restarted, 'ERROR');
    const mailed = await stack.connectedAccount({ userId: 'metrics-w2', provider: 'OUTLOOK' });
    stack.sim.emitStatus(mailed, 'CREDENTIALS');
    let text = '';
    await waitFor(
      async () => {
        text = await workerScrape();
        return (
          series(text, 'unipile_recovery_attempts', { action: 'restart', outcome: 'succeeded' }) >= 1 &&
          series(text, 'unipile_emails', { kind: 'reconnect_needed', outcome: 'sent' }) >= 1
        );
      },
      30_000,
      'the attempt and the email counted on the worker',
    );
    expect(stack.smtp.messages.some((m) => m.to.includes('metrics-w2@example.test'))).toBe(true);
    expect(text).toMatch(/^temporal_\w+/m);
  });
});

describe('docs/OPERATIONS.md: Temporal unreachable is a transient forward failure; the event waits, pending', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A Temporal address nothing listens on: the API starts and stores events, every forward fails to connect.
    const temporalAddress = `127.0.0.1:${await freePort()}`;
    stack = new Stack({
      workers: false,
      temporalAddress,
      env: { OPS_CACHE_TTL: '100ms', RECEIPT_RETRY_MAX_DELAY: '1s' },
    });
    await stack.start();
  });
  afterAll(() => stack?.stop());

  test('unipile_receipt_forward_failures_total{kind="transient"} grows, unipile_receipts{state="pending"} holds it', async () => {
    const account = stack.sim.createAccount({ type: 'WHATSAPP' });
    expect((await stack.postWebhook(account.id, 'ERROR', 'WHATSAPP')).status).toBe(200); // accepted all the same
    let text = '';
    await waitFor(
      async () => {
        text = await (await fetch(`${stack.api.url}/metrics`)).text();
        return series(text, 'unipile_receipt_forward_failures_total', { kind: 'transient' }) >= 2;
      },
      45_000,
      'transient failures counted',
    );
    expect(series(text, 'unipile_receipts', { state: 'pending' })).toBe(1);
    expect(series(text, 'unipile_receipt_forward_failures_total', { kind: 'permanent' })).toBe(0);
    expect(series(text, 'unipile_receipts_dead_total')).toBe(0);
    const pending = (await stack.api$('GET', '/api/receipts?state=pending')).json.items;
    expect(pending).toEqual([expect.objectContaining({ accountId: account.id })]);
    // docs/OPERATIONS.md "Readiness": 503 while Temporal is unreachable, naming it; /healthz (the process) stays 200.
    const ready = await fetch(`${stack.api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, postgres: 'ok', temporal: 'unreachable' });
    expect((await fetch(`${stack.api.url}/healthz`)).status).toBe(200);
  });
});

describe('docs/SECURITY.md, CHOICES.md, CUSTOM-AUTH.md: links, names, error codes, cookie posts per address', () => {
  const stack = new Stack({
    env: { CONNECTION_POLL_INTERVAL: '300ms', EXTENSION_RATE_LIMIT: '2', RECONNECT_MAX_RETRIES: '10' },
  });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());
  const post = (url: string, body: object) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const lastLink = () =>
    stack.sim.calls.filter((c) => c.path === '/api/v1/hosted/accounts/link').pop()!.body as {
      notify_url: string;
      name: string;
    };

  test('a hosted-auth link made before hosted_links existed (no row) is refused 401; a new link connects', async () => {
    await stack.api$('PUT', '/api/users/old-link', { email: 'old-link@example.test' });
    expect((await stack.api$('POST', '/api/users/old-link/connect-link', {})).status).toBe(201);
    const fresh = lastLink();
    // What the earlier version put in notify_url: a signed token naming the user, not a link.
    const oldToken = signToken(stack.config.SIGNING_SECRET, 'hosted-auth', 'old-link', 3_600_000);
    const oldUrl = `${stack.api.url}/webhooks/unipile/hosted-auth?token=${encodeURIComponent(oldToken)}`;
    const account = stack.sim.createAccount({ type: 'WHATSAPP', status: 'OK' });
    const refused = await post(oldUrl, { status: 'CREATION_SUCCESS', account_id: account.id, name: fresh.name });
    expect(refused.status).toBe(401);
    expect((await stack.api$('GET', `/api/accounts/${account.id}`)).status).toBe(404);
    // Positive control: the same callback through the link made now is taken.
    const taken = await post(fresh.notify_url, {
      status: 'CREATION_SUCCESS',
      account_id: account.id,
      name: fresh.name,
    });
    expect(taken.status).toBe(200);
    await stack.accountWhen(account.id, (a) => a?.userId === 'old-link');
  });

  test('account names from Unipile are kept to 256 characters (hosted auth and custom authentication)', async () => {
    const long = `N${'a'.repeat(150)}${'b'.repeat(149)}`; // 300 characters
    const link = await stack.api$('POST', '/api/users/long-name/connect-link', { providers: ['WHATSAPP'] });
    const before = new Set(stack.sim.accounts.keys());
    await fetch(link.json.url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ provider: 'WHATSAPP', name: long }),
    });
    const accountId = [...stack.sim.accounts.keys()].find((id) => !before.has(id))!;
    expect(stack.sim.accounts.get(accountId)!.name).toBe(long); // Unipile holds all 300
    const hosted = await stack.accountWhen(accountId, (a) => a?.status === 'OK');
    expect(hosted.name).toBe(long.slice(0, 256));

    const username = `${'u'.repeat(288)}@example.test`; // 301 characters: Unipile names the account after it
    const custom = await stack.api$('POST', '/api/users/long-name/accounts', {
      provider: 'TWITTER',
      username,
      password: 'tw-pw-long-name',
    });
    expect(custom.json.step.type).toBe('connected');
    const viaCustom = await stack.accountWhen(custom.json.step.accountId, (a) => a?.status === 'OK');
    expect(viaCustom.name).toBe(username.slice(0, 256));
  });

  test('answering a QR code step is 409 nothing_to_answer and leaves the step as it was', async () => {
    const res = await stack.api$('POST', '/api/users/qr-user/accounts', { provider: 'WHATSAPP' });
    expect(res.status).toBe(202);
    expect(res.json.step.type).toBe('qrcode');
    const answer = await stack.api$('POST', `/api/connections/${res.json.connectionId}/steps`, { code: '123456' });
    expect(answer.status).toBe(409);
    expect(answer.json.error.code).toBe('nothing_to_answer');
    const read = await stack.api$('GET', `/api/connections/${res.json.connectionId}`);
    expect(read.json.step.type).toBe('qrcode');
    // Positive control: the scan itself still connects it.
    const intent = [...stack.sim.intents.values()].at(-1)!;
    await stack.simApi('POST', `/_sim/intents/${intent.accountId}/scan`);
    await waitFor(
      async () => (await stack.api$('GET', `/api/connections/${res.json.connectionId}`)).json.step.type === 'connected',
      10_000,
      'connected by the scan',
    );
  });

  test('reconnecting in place with another provider is 409 provider_mismatch; nothing is sent to Unipile', async () => {
    const accountId = await stack.connectedAccount({ userId: 'mismatch', provider: 'WHATSAPP' });
    const connectsBefore = stack.sim.calls.filter(
      (c) => c.method === 'POST' && c.path.startsWith('/api/v1/accounts'),
    ).length;
    const res = await stack.api$('POST', `/api/accounts/${accountId}/reconnect`, {
      provider: 'LINKEDIN',
      username: 'mismatch@example.test',
      password: 'li-pw-mismatch',
    });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe('provider_mismatch');
    expect(stack.sim.calls.filter((c) => c.method === 'POST' && c.path.startsWith('/api/v1/accounts')).length).toBe(
      connectsBefore,
    );
    expect((await stack.api$('GET', `/api/accounts/${accountId}`)).json).toMatchObject({ status: 'OK' });
    expect((await stack.api$('GET', '/api/users/mismatch/connections')).json.items).toEqual([]);
    // Positive control: the account's own provider is taken (a WhatsApp reconnect answers with a QR code).
    const same = await stack.api$('POST', `/api/accounts/${accountId}/reconnect`, { provider: 'WHATSAPP' });
    expect(same.status).toBe(202);
    expect(same.json.step.type).toBe('qrcode');
    expect((await stack.api$('GET', '/api/users/mismatch/connections')).json.items).toEqual([
      expect.objectContaining({ id: same.json.connectionId, method: 'custom_auth_reconnect', provider: 'WHATSAPP' }),
    ]);
  });

  test('user ids are 1–128 printable characters without /: anything else is a 400 naming userId', async () => {
    const put = (userId: string) =>
      stack.api$('PUT', `/api/users/${encodeURIComponent(userId)}`, { email: 'u@example.test' });
    expect((await put('é'.repeat(128))).status).toBe(200); // positive control: 128 printable characters
    for (const bad of ['x'.repeat(129), 'a/b', 'tab\there', 'nul\u0000']) {
      const res = await put(bad);
      expect(res.status).toBe(400);
      expect(res.json.error.message).toContain('userId');
    }
    expect((await stack.api$('GET', `/api/users/${'x'.repeat(129)}/accounts`)).status).toBe(400);
  });

  test("the Temporal UI's current details: status, recovery, attempt n of N and the next attempt", async () => {
    const accountId = await stack.connectedAccount({ userId: 'details', provider: 'WHATSAPP' });
    stack.script('restart', [{ result: 'fail' }, { result: 'fail' }, { result: 'fail' }], accountId);
    stack.sim.emitStatus(accountId, 'ERROR');
    // RECONNECT_MAX_RETRIES is 10 here: 11 attempts, 2 s apart.
    const shown =
      /^status \*\*ERROR\*\* · recovery \*\*RETRYING\*\* · attempt 1 of 11 · next: restart attempt 2\/11 at \S+Z/;
    let details = '';
    await waitFor(
      async () => {
        const meta = await stack.client.workflow
          .getHandle(`account-${accountId}`)
          .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
        details = meta.currentDetails ?? '';
        return shown.test(details);
      },
      15_000,
      'the current details of the first failed attempt',
    );
    expect(details).toMatch(shown);
  });

  test('a QR code changes on its own every 30 s at Unipile, and the connection read again shows the new one', async () => {
    const startedAt = Date.now();
    const res = await stack.api$('POST', '/api/users/qr-ages/accounts', { provider: 'TELEGRAM' });
    expect(res.json.step.type).toBe('qrcode');
    const first: string = res.json.step.qrcode;
    let changedAt = 0;
    await waitFor(
      async () => {
        const step = (await stack.api$('GET', `/api/connections/${res.json.connectionId}`)).json.step;
        if (step.type === 'qrcode' && step.qrcode !== first) changedAt = Date.now();
        return changedAt > 0;
      },
      60_000,
      'a new QR code',
    );
    // Not before its 30 s (read every CONNECTION_POLL_INTERVAL, 300 ms here, so seen within a moment of it).
    expect(changedAt - startedAt).toBeGreaterThanOrEqual(29_500);
  });

  test('recovery timings go with a workflow from its start: a changed RECONNECT_RETRY_INTERVAL applies to new ones', async () => {
    // An account whose workflow this stack's API started, with its RECONNECT_RETRY_INTERVAL (2 s).
    const before = await stack.connectedAccount({ userId: 'timings-old', provider: 'WHATSAPP' });
    // A second API process whose configuration says 1 h, as after a redeploy with a new value.
    const port = await freePort();
    const output: string[] = [];
    const api2 = spawnTs(
      'src/api/server.ts',
      { ...stack.env, PORT: String(port), RECONNECT_RETRY_INTERVAL: '1h' },
      output,
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor(
        async () => (await fetch(`${url}/healthz`).catch(() => null))?.status === 200,
        30_000,
        'the second API',
      );
      const webhook = (accountId: string, message: string) =>
        fetch(`${url}/webhooks/unipile/account-status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'unipile-auth': stack.config.UNIPILE_WEBHOOK_SECRET },
          body: JSON.stringify({ AccountStatus: { account_id: accountId, account_type: 'WHATSAPP', message } }),
        });
      // An account first heard of through the second API: its workflow starts with 1 h. This stack's API stops
      // sweeping meanwhile, so that the second API is the one that starts it.
      const after = stack.sim.createAccount({ type: 'WHATSAPP', status: 'OK' }).id;
      await stack.api.forwarder.stop();
      try {
        expect((await webhook(after, 'OK')).status).toBe(200);
        await stack.accountWhen(after, (a) => a?.status === 'OK', 30_000);
      } finally {
        stack.api.forwarder.start();
      }
      for (const id of [before, after]) {
        stack.script(
          'restart',
          Array.from({ length: 10 }, () => ({ result: 'fail' as const })),
          id,
        );
        expect((await webhook(id, 'ERROR')).status).toBe(200);
      }
      const failedAt = Date.now();
      const next = async (id: string) =>
        Date.parse((await stack.accountWhen(id, (a) => !!a?.lastError && !!a?.nextAttemptAt, 30_000)).nextAttemptAt);
      // The older workflow keeps its 2 s though the event came through the API that says 1 h; the new one has 1 h.
      expect((await next(before)) - failedAt).toBeLessThan(60_000);
      expect((await next(after)) - failedAt).toBeGreaterThan(50 * 60_000);
    } finally {
      await stopProcess(api2);
    }
  });

  test('cookie posts are limited per address too (4× EXTENSION_RATE_LIMIT), whatever tokens they carry: 429', async () => {
    // EXTENSION_RATE_LIMIT is 2 here: each token may post 2 a minute, one address 8.
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) tokens.push(await stack.extensionToken(`addr-${i}`));
    const statuses: number[] = [];
    for (const [i, token] of tokens.slice(0, 4).entries())
      for (let n = 0; n < 2; n++)
        statuses.push((await stack.postCookies(token, cookieBody(`AQEDAaddr-${i}-${n}`, `member-addr-${i}`))).status);
    expect(statuses).toEqual(Array.from({ length: 8 }, () => 202));
    // A fifth token that has not posted yet: within its own limit, refused by the address's.
    const cut = await stack.postCookies(tokens[4]!, cookieBody('AQEDAaddr-4-0', 'member-addr-4'));
    expect(cut.status).toBe(429);
    expect(cut.json.error.code).toBe('rate_limited');
    expect(cut.json.error.message).toMatch(/address/);
    expect(Number(cut.headers.get('retry-after'))).toBeGreaterThan(0);
    // Positive control: the same token from another address (through a trusted proxy, TRUST_PROXY=loopback) is taken.
    const elsewhere = await stack.api$(
      'POST',
      '/api/extension/linkedin-cookies',
      cookieBody('AQEDAaddr-4-0', 'member-addr-4'),
      { authorization: `Bearer ${tokens[4]}`, 'x-forwarded-for': '198.51.100.23' },
    );
    expect(elsewhere.status).toBe(202);
  });
});

describe('docs/BACKEND-EVENTS.md: a refused event is retried 1 s doubling, parked dead after BACKEND_WEBHOOK_RETRY_FOR', () => {
  // The backend refuses one event (the first it gets for the user below) every time, and takes every other.
  let refusedId: string | null = null;
  const tries: number[] = [];
  const delivered: { id: string; type: string; data: { accountId: string; userId: string | null } }[] = [];
  const watched = 'refused';
  let receiver: Server;
  let stack: Stack;
  beforeAll(async () => {
    const peer = await serve((_req, body, res) => {
      const event = JSON.parse(body) as (typeof delivered)[number];
      if (event.data.userId === watched && (refusedId ?? event.id) === event.id) {
        refusedId = event.id;
        tries.push(Date.now());
        res.writeHead(503).end();
        return;
      }
      delivered.push(event);
      res.writeHead(204).end();
    });
    receiver = peer.server;
    stack = await new Stack({
      env: {
        BACKEND_WEBHOOK_URL: `${peer.url}/events`,
        BACKEND_WEBHOOK_SECRET: 'backend-secret-0123456789',
        BACKEND_WEBHOOK_RETRY_FOR: '6s',
        OPS_CACHE_TTL: '100ms',
      },
    }).start();
  });
  afterAll(async () => {
    await stack?.stop();
    await new Promise((r) => receiver.close(r));
  });

  test('tries 1 s, 2 s, 4 s apart; then parked (counted dead, never tried again) and the later events flow', async () => {
    const accountId = await stack.connectedAccount({ userId: 'refused', provider: 'WHATSAPP' });
    // A later event of the same account, held behind the refused one until it is parked.
    expect((await stack.postWebhook(accountId, 'CONNECTING', 'WHATSAPP')).status).toBe(200);
    const dead = async () =>
      series(await (await fetch(`${stack.api.url}/metrics`)).text(), 'unipile_backend_events', { state: 'dead' });
    await waitFor(async () => (await dead()) === 1, 30_000, 'the refused event parked');
    const gaps = tries.slice(1).map((t, i) => t - tries[i]!);
    // Retried while younger than 6 s: at about 0, 1, 3 and 7 s (the sender polls every second).
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(1000 * 2 ** i - 200);
      expect(gap).toBeLessThan(1000 * 2 ** i + 5000);
    });
    // Parked, it no longer holds the account's later events back: they reach the backend, in order.
    await waitFor(
      () => delivered.some((e) => e.data.accountId === accountId && e.type === 'account.status_changed'),
      15_000,
      'the later events',
    );
    const triedBefore = tries.length;
    // The next try would have come 2^n s after the last; watched longer than that, nothing.
    const next = 1000 * 2 ** gaps.length;
    await new Promise((r) => setTimeout(r, next + 1500));
    expect(tries.length).toBe(triedBefore);
    expect(delivered.some((e) => e.id === refusedId)).toBe(false);
  });
});

describe('README.md: a second `npm run dev` finds the same accounts and workflows', () => {
  const ROOT = resolve(__dirname, '../..');
  // A copy of the scripts beside links to the sources, so the data folder (.data, next to scripts/) is this test's own.
  const root = mkdtempSync(join(tmpdir(), 'keeper-dev-'));
  let child: ChildProcess | undefined;
  const output: string[] = [];

  const start = async (env: Record<string, string>) => {
    output.length = 0;
    // Its own process group, so that a run that hangs can be stopped with the Temporal dev server it started.
    const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/dev.ts')], {
      cwd: root,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
    proc.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    child = proc;
    await waitFor(
      () => {
        if (proc.exitCode !== null) throw new Error(`npm run dev exited: ${output.join('')}`);
        return output.join('').includes('Ctrl-C stops everything');
      },
      120_000,
      'npm run dev ready',
    );
  };
  /** Ctrl-C, as the README says; the whole group is killed only if it does not stop in time. */
  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGINT');
    const timer = setTimeout(() => process.kill(-proc.pid!, 'SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };

  beforeAll(() => {
    cpSync(join(ROOT, 'scripts'), join(root, 'scripts'), { recursive: true });
    for (const entry of ['src', 'migrations', 'node_modules', 'package.json', 'tsconfig.json'])
      symlinkSync(join(ROOT, entry), join(root, entry));
  });
  afterAll(async () => {
    await stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('an account connected on the first start is listed, and its workflow running, after a restart', async () => {
    const [port, simPort] = [await freePort(), await freePort()];
    // Nothing outside set: every stand-in is started, as on a fresh clone.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      SIMULATOR_PORT: String(simPort),
      LOG_LEVEL: 'warn',
    };
    await start(env);
    const { API_TOKEN } = JSON.parse(readFileSync(join(root, '.data/dev-secrets.json'), 'utf8')) as {
      API_TOKEN: string;
    };
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        redirect: 'manual',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await api('PUT', '/api/users/alice', { email: 'alice@example.com', name: 'Alice' })).status).toBe(200);
    const link = (await (await api('POST', '/api/users/alice/connect-link', {})).json()) as { url: string };
    await fetch(link.url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ provider: 'WHATSAPP', name: 'Alice on WhatsApp' }),
    });
    const accounts = async () =>
      (
        (await (await api('GET', '/api/users/alice/accounts')).json()) as {
          items: { accountId: string; status: string }[];
        }
      ).items;
    await waitFor(async () => (await accounts()).some((a) => a.status === 'OK'), 30_000, 'the account OK');
    const first = await accounts();
    expect(first).toHaveLength(1);
    const accountId = first[0]!.accountId;

    // What it prints: every URL and the curl steps to try.
    const printed = output.join('');
    for (const line of [`API             http://localhost:${port}`, 'Temporal UI     http://localhost:8233', 'Try it:'])
      expect(printed).toContain(line);
    expect(printed).toMatch(/ 1\. curl[\s\S]* 2\. curl[\s\S]* 3\. curl/);
    // The events for the backend, signed and checked, land in .data/events/ as JSON files.
    await waitFor(
      () =>
        readdirSync(join(root, '.data/events')).some((f) =>
          readFileSync(join(root, '.data/events', f), 'utf8').includes(accountId),
        ),
      30_000,
      'the account.connected event file',
    );
    await stop();

    await start(env);
    expect((await accounts()).map((a) => a.accountId)).toEqual([accountId]);
    // The simulator kept its accounts in .data/simulator-state.json: Unipile still knows this one.
    const health = (await (await api('GET', `/api/accounts/${accountId}/health?fresh=true`)).json()) as {
      usable: boolean;
    };
    expect(health.usable).toBe(true);
    expect((await fetch('http://127.0.0.1:8233/')).status).toBe(200);
    // The webhook secret kept in .data/dev-secrets.json still opens the API; the email goes to .data/outbox/.
    const { UNIPILE_WEBHOOK_SECRET } = JSON.parse(readFileSync(join(root, '.data/dev-secrets.json'), 'utf8')) as {
      UNIPILE_WEBHOOK_SECRET: string;
    };
    const webhook = await fetch(`http://127.0.0.1:${port}/webhooks/unipile/account-status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'unipile-auth': UNIPILE_WEBHOOK_SECRET },
      body: JSON.stringify({
        AccountStatus: { account_id: accountId, account_type: 'WHATSAPP', message: 'CREDENTIALS' },
      }),
    });
    expect(webhook.status).toBe(200);
    await waitFor(
      () => {
        try {
          return readdirSync(join(root, '.data/outbox')).some((f) => f.endsWith('.eml'));
        } catch {
          return false;
        }
      },
      30_000,
      'the email in .data/outbox/',
    );
    // The workflow is the one from the first start, still running: answered live by the Temporal dev server kept in .data.
    const live = await api('GET', `/api/accounts/${accountId}?live=true`);
    expect(live.status).toBe(200);
    const connection = await Connection.connect({ address: '127.0.0.1:7233' });
    try {
      const described = await new Client({ connection }).workflow.getHandle(`account-${accountId}`).describe();
      expect(described.status.name).toBe('RUNNING');
      expect(described.startTime.getTime()).toBeLessThan(Date.now() - 1000);
    } finally {
      await connection.close();
    }
    await stop();
  });
});
