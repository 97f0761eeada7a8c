import type { Server } from 'node:http';
import type { Knex } from 'knex';
import type { Config } from '../../src/platform/config';
import { createDb } from '../../src/platform/db';
import { createLogger } from '../../src/platform/logger';
import { startApi, type RunningApi } from '../../src/api/server';
import { recordReliability } from '../helpers/reliability';
import { serve } from '../helpers/http-peer';
import { sleep, Stack, waitFor } from '../helpers/stack';

// What operations endpoints and outgoing events do under hostile traffic: an anonymous flood of /readyz and
// /metrics (each call used to run database queries and a Temporal call), /metrics behind its token, and a backend
// webhook answering with a redirect (the signed body must never follow it to another address).

const BACKEND_SECRET = 'ops-backend-secret-0123456789';
const METRICS_TOKEN = 'ops-metrics-token-0123456789';
const TTL_MS = 5000;

interface Hit {
  path: string;
  body: string;
  signature?: string;
}

describe('operations endpoints and outgoing events under attack', () => {
  // The "other" address a redirect points at: it must never see a request.
  const elsewhere: Hit[] = [];
  // What the backend got: bounced with a 307 (while `bounce` says so for that account), then accepted.
  const bounced: { eventId: string; accountId: string }[] = [];
  const accepted: { eventId: string; accountId: string; type: string }[] = [];
  const bounce = new Map<string, number>();
  let other: { server: Server; url: string };
  let backend: { server: Server; url: string };
  let stack: Stack;
  // A second API process on the same database, whose every query is counted.
  let counted: RunningApi;
  let countedDb: Knex;
  const queries: string[] = [];
  // And a third one with METRICS_TOKEN set.
  let guarded: RunningApi;

  beforeAll(async () => {
    other = await serve((req, body, res) => {
      elsewhere.push({ path: req.url ?? '', body, signature: req.headers['keeper-signature'] as string | undefined });
      res.writeHead(204).end();
    });
    backend = await serve((_req, body, res) => {
      const event = JSON.parse(body) as { id: string; type: string; data: { accountId: string } };
      const left = bounce.get(event.data.accountId) ?? 0;
      if (left > 0) {
        bounce.set(event.data.accountId, left - 1);
        bounced.push({ eventId: event.id, accountId: event.data.accountId });
        res.writeHead(307, { location: `${other.url}/stolen` }).end();
        return;
      }
      accepted.push({ eventId: event.id, accountId: event.data.accountId, type: event.type });
      res.writeHead(204).end();
    });
    stack = await new Stack({
      env: { BACKEND_WEBHOOK_URL: `${backend.url}/keeper-events`, BACKEND_WEBHOOK_SECRET: BACKEND_SECRET },
    }).start();
    countedDb = createDb(stack.env.DATABASE_URL!);
    countedDb.on('query', (q: { sql: string }) => void queries.push(q.sql));
    const quiet = createLogger('warn', 'ops', { write: () => undefined });
    counted = await startApi({ ...stack.config, PORT: 0, OPS_CACHE_TTL: TTL_MS } as Config, {
      host: '127.0.0.1',
      db: countedDb,
      logger: quiet,
    });
    guarded = await startApi({ ...stack.config, PORT: 0, METRICS_TOKEN } as Config, {
      host: '127.0.0.1',
      logger: quiet,
    });
  });
  afterAll(async () => {
    await guarded?.stop();
    await counted?.stop();
    await countedDb?.destroy();
    await stack?.stop();
    for (const s of [other, backend]) if (s) await new Promise((r) => s.server.close(r));
  });

  // The checks /readyz runs and the gauges /metrics reads, told apart from the forwarder's own queries.
  const readyChecks = (sqls: string[]) => sqls.filter((sql) => sql.trim() === 'select 1').length;
  const gaugeReads = (sqls: string[]) =>
    sqls.filter((sql) => /count\(\*\)/.test(sql) && /from "(webhook_receipts|backend_events|accounts)"/.test(sql))
      .length;

  test('400 anonymous GETs of /readyz and /metrics at once cost one round of checks per OPS_CACHE_TTL', async () => {
    const accountId = await stack.connectedAccount({ userId: 'flooded', provider: 'GOOGLE' });
    const mails = () => stack.smtp.messages.filter((m) => m.to.includes('flooded@example.test')).length;
    const from = queries.length;
    const startedAt = Date.now();
    // A real webhook in the middle of the flood, to the same process: it must be stored and acted on.
    const webhook = fetch(`${counted.url}/webhooks/unipile/account-status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'unipile-auth': stack.config.UNIPILE_WEBHOOK_SECRET },
      body: JSON.stringify({
        AccountStatus: { account_id: accountId, message: 'CREDENTIALS', account_type: 'GOOGLE_OAUTH' },
      }),
    });
    const answers = await Promise.all([
      ...Array.from({ length: 200 }, async () => {
        const res = await fetch(`${counted.url}/readyz`);
        return { path: '/readyz', status: res.status, text: await res.text() };
      }),
      ...Array.from({ length: 200 }, async () => {
        const res = await fetch(`${counted.url}/metrics`);
        return { path: '/metrics', status: res.status, text: await res.text() };
      }),
    ]);
    const elapsedMs = Date.now() - startedAt;
    const during = queries.slice(from);
    const checks = readyChecks(during);
    const gauges = gaugeReads(during);
    // A period that started during the flood may add one round; never one per request.
    const periods = Math.floor(elapsedMs / TTL_MS) + 1;
    const webhookStatus = (await webhook).status;

    const view = await stack.accountWhen(accountId, (a) => a.recovery === 'WAITING_FOR_USER', 30_000);
    await waitFor(() => mails() >= 1, 30_000, 'the CREDENTIALS email');
    const sent = mails();
    const eventsLost = (webhookStatus === 200 ? 0 : 1) + (view.status === 'CREDENTIALS' ? 0 : 1);
    recordReliability({
      kind: 'abuse',
      injected: '400 concurrent anonymous GETs (200 /readyz, 200 /metrics) with a CREDENTIALS webhook among them',
      times: answers.length,
      expected:
        'at most one readiness check and one round of gauge queries per OPS_CACHE_TTL; the webhook stored, one email',
      observed: `${checks} readiness checks and ${gauges} gauge queries for ${answers.length} requests in ${elapsedMs} ms (TTL ${TTL_MS} ms); webhook ${webhookStatus}; ${sent} email(s)`,
      eventsLost,
      emailsLost: Math.max(0, 1 - sent),
      duplicateEmails: Math.max(0, sent - 1),
    });

    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    for (const a of answers.filter((x) => x.path === '/readyz'))
      expect(JSON.parse(a.text)).toEqual({ ready: true, postgres: 'ok', temporal: 'ok' });
    for (const a of answers.filter((x) => x.path === '/metrics')) expect(a.text).toContain('unipile_receipts{state=');
    // The hook sees these queries at all (a flood that ran none would prove nothing)...
    expect(checks).toBeGreaterThanOrEqual(1);
    expect(gauges).toBeGreaterThanOrEqual(3);
    // ...and they are bounded by time, not by the number of requests.
    expect(checks).toBeLessThanOrEqual(periods);
    expect(gauges).toBeLessThanOrEqual(3 * periods);
    expect(eventsLost).toBe(0);
    expect(sent).toBe(1);

    // The cache expires: once the period is over the next call checks again, and the gauges show the new incident.
    await sleep(TTL_MS + 200);
    const before = readyChecks(queries);
    expect((await fetch(`${counted.url}/readyz`)).status).toBe(200);
    expect(readyChecks(queries)).toBe(before + 1);
    const metrics = await (await fetch(`${counted.url}/metrics`)).text();
    expect(metrics).toMatch(/unipile_incidents_open\{provider="[A-Z_]+",recovery="WAITING_FOR_USER"\} [1-9]/);
  });

  test('with METRICS_TOKEN set, /metrics answers only to that bearer token; /readyz stays open', async () => {
    for (const authorization of [
      undefined,
      'Bearer wrong-token-0123456789',
      `Bearer ${METRICS_TOKEN}x`,
      `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`,
      `Bearer ${stack.config.API_TOKEN}`,
    ]) {
      const res = await fetch(`${guarded.url}/metrics`, { headers: authorization ? { authorization } : {} });
      const text = await res.text();
      expect([authorization, res.status]).toEqual([authorization, 401]);
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'unauthorized' } });
      expect(text).not.toContain('unipile_');
    }
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('unipile_http_request_duration_seconds');
    expect((await fetch(`${guarded.url}/readyz`)).status).toBe(200);
  });

  test('a backend answering 307 never makes the signed event go elsewhere; it is retried and delivered', async () => {
    const userId = 'redirected';
    await stack.api$('PUT', `/api/users/${userId}`, { email: `${userId}@example.test`, name: 'Ada' });
    // Every event of the new account is bounced twice; the wizard creates the account, so its id is not known
    // before: bounce every account that shows up until then.
    const known = new Set(stack.sim.accounts.keys());
    const watcher = setInterval(() => {
      for (const id of stack.sim.accounts.keys()) if (!known.has(id) && !bounce.has(id)) bounce.set(id, 2);
    }, 5);
    let accountId: string;
    try {
      accountId = (await stack.connectViaWizard(userId, 'WHATSAPP')).accountId;
      if (!bounce.has(accountId)) bounce.set(accountId, 2);
    } finally {
      clearInterval(watcher);
    }
    await waitFor(
      () => {
        if (elsewhere.length) throw new Error(`a signed event followed the redirect to ${elsewhere[0]!.path}`);
        return accepted.some((e) => e.accountId === accountId && e.type === 'account.connected');
      },
      60_000,
      'the connected event delivered after the redirects',
    );
    const refusedIds = new Set(bounced.filter((b) => b.accountId === accountId).map((b) => b.eventId));
    const deliveredIds = new Set(accepted.filter((e) => e.accountId === accountId).map((e) => e.eventId));
    const eventsLost = [...refusedIds].filter((id) => !deliveredIds.has(id)).length;
    // Connecting sends this user no email: any would be a duplicate.
    const expectedMails = 0;
    const mails = stack.smtp.messages.filter((m) => m.to.includes(`${userId}@example.test`)).length;
    recordReliability({
      injected: "the backend answering 307 to another host's URL",
      times: bounced.filter((b) => b.accountId === accountId).length,
      expected: 'nothing sent to the other host; the event retried and delivered to the configured URL',
      observed: `${elsewhere.length} request(s) at the other host; ${refusedIds.size} event(s) bounced, ${[...refusedIds].filter((id) => deliveredIds.has(id)).length} of them delivered later`,
      eventsLost,
      emailsLost: Math.max(0, expectedMails - mails),
      duplicateEmails: Math.max(0, mails - expectedMails),
    });

    // The redirect was really served (positive control), and not one request reached its target.
    expect(bounced.filter((b) => b.accountId === accountId).length).toBe(2);
    expect(elsewhere).toEqual([]);
    expect(eventsLost).toBe(0);
  });
});
