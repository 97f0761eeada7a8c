import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { ensureDatabase } from '../../src/platform/db';
import { UnipileSimulator } from '../../src/simulator/unipile-simulator';
import { registerAccountStatusWebhook } from '../../src/unipile/register-webhook';
import { UnipileApi } from '../../src/unipile/unipile-api';
import { accountWorkflowId } from '../../src/workflows/account/contract';
import { spawnTs } from '../helpers/processes';
import { EventLedger, recordReliability } from '../helpers/reliability';
import { SmtpPeer } from '../helpers/smtp-peer';
import { waitFor } from '../helpers/stack';

// The production topology, for real: `npm run prod:local` (its script, run as its own process) brings up the Temporal server
// built from go.temporal.io/server on this PostgreSQL, two API processes and two workers from lib/. The test talks to
// it as clients do (HTTP, Temporal's API) and kills processes with SIGKILL by the pids the script printed.
const ROOT = resolve(__dirname, '../..');
const PG_BASE = process.env.TEST_PG_BASE ?? 'postgres://postgres@127.0.0.1:5432';

const isFree = (port: number) =>
  new Promise<boolean>((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });

/** A base port whose block is free: for the APIs (PORT, PORT + 1), or the server's services, membership, metrics. */
async function freeBlock(offsets: number[], below = 50_000): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * (below - 20_000));
    if ((await Promise.all(offsets.map((d) => isFree(base + d)))).every(Boolean)) return base;
  }
}

describe('production topology: Temporal server on PostgreSQL, two APIs, two workers (npm run prod:local)', () => {
  const sim = new UnipileSimulator({ apiKey: 'prod-sim-key', webhookRetryDelayMs: 200 });
  const smtp = new SmtpPeer();
  const output: string[] = [];
  let topology: ChildProcess;
  let env: Record<string, string>;
  let apis: string[];
  let temporal: Client;
  let temporalConnection: Connection;
  const pids = new Map<string, number>();

  const printed = () => output.join('');
  const pidOf = (name: string): number => {
    const all = [...printed().matchAll(new RegExp(`${name}\\s+(?:http\\S+ )?pid (\\d+)`, 'g'))];
    return Number(all.at(-1)![1]);
  };
  const api$ = async (base: string, method: string, path: string, body?: unknown, headers = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: 'Bearer prod-api-token-0123456789', 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  };
  const webhook = (base: string, accountId: string, message: string) =>
    fetch(`${base}/webhooks/unipile/account-status`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'unipile-auth': 'prod-webhook-secret' },
      body: JSON.stringify({ AccountStatus: { account_id: accountId, account_type: 'GOOGLE_OAUTH', message } }),
    });
  const connectGmail = async (userId: string): Promise<string> => {
    await api$(apis[0]!, 'PUT', `/api/users/${userId}`, { email: `${userId}@example.test`, name: 'Prod' });
    const link = await api$(apis[0]!, 'POST', `/api/users/${userId}/connect-link`, { providers: ['GOOGLE'] });
    expect(link.status).toBe(201);
    const before = new Set(sim.accounts.keys());
    await fetch(link.json.url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ provider: 'GOOGLE', name: `GOOGLE of ${userId}` }),
    });
    const accountId = [...sim.accounts.keys()].find((id) => !before.has(id))!;
    await waitFor(
      async () => (await api$(apis[1]!, 'GET', `/api/accounts/${accountId}`)).json?.status === 'OK',
      30_000,
      'connected',
    );
    return accountId;
  };
  /** What a client reads, through the second API (the first is the one these tests kill) and the server. */
  const surface = () => ({ api$: (method: string, path: string) => api$(apis[1]!, method, path), client: temporal });
  /** The pids of the workers that started each activity of a workflow, in order (identity is pid@host). */
  const activityWorkers = async (workflowId: string): Promise<{ type: string; pid: number }[]> => {
    const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = new Map<string, string>();
    const started: { type: string; pid: number }[] = [];
    for (const e of history.events ?? []) {
      if (e.activityTaskScheduledEventAttributes)
        scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
      if (e.activityTaskStartedEventAttributes)
        started.push({
          type: scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) ?? '',
          pid: Number((e.activityTaskStartedEventAttributes.identity ?? '').split('@')[0]),
        });
    }
    return started;
  };

  beforeAll(async () => {
    // A fresh machine builds the server here (minutes, once; .ci/run does it before the tests).
    execFileSync('bash', [resolve(ROOT, 'scripts/ensure-temporal-server.sh')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const simUrl = await sim.start();
    const smtpUrl = await smtp.start();
    const port = await freeBlock([0, 1]);
    const serverPort = await freeBlock([0, 1, 2, 6, 10, 767, 1000, -300, -299, -298, -294], 32_000); // membership ports are smallint
    const databaseUrl = `${PG_BASE}/test_prod_${randomBytes(5).toString('hex')}`;
    await ensureDatabase(databaseUrl);
    env = {
      DATABASE_URL: databaseUrl,
      TEMPORAL_SERVER_PORT: String(serverPort),
      UNIPILE_DSN: simUrl,
      UNIPILE_API_KEY: 'prod-sim-key',
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      PORT: String(port),
      API_TOKEN: 'prod-api-token-0123456789',
      UNIPILE_WEBHOOK_SECRET: 'prod-webhook-secret',
      SIGNING_SECRET: 'prod-signing-secret',
      COOKIE_ENCRYPTION_KEY: `k1:${randomBytes(32).toString('base64')}`,
      SMTP_URL: smtpUrl,
      MAIL_FROM: 'Accounts <accounts@example.test>',
      RECONNECT_RETRY_INTERVAL: '3s',
      RECONNECT_MAX_RETRIES: '3',
      // The first email goes out once the attempts are over, not EMAIL_SETTLE (2 min) after the incident opened.
      EMAIL_SETTLE: '0s',
      // A restart the killed worker had taken is retried once its call times out (this + 5 s), not after 35 s.
      UNIPILE_REQUEST_TIMEOUT: '5s',
      INBOX_RELAY_INTERVAL: '500ms',
      // A killed process stays down 40 s before prod:local starts it again, so what the survivors do meanwhile is
      // theirs alone (systemd's 1 s otherwise).
      PROD_LOCAL_RESTART_DELAY: '40000',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    };
    const inherited = { ...process.env };
    delete inherited.TEMPORAL_ADDRESS; // unset: prod:local starts the server itself
    topology = spawnTs('scripts/prod-local.ts', { ...(inherited as Record<string, string>), ...env }, output);
    await waitFor(
      () => {
        if (topology.exitCode !== null) throw new Error(`prod:local exited:\n${printed()}`);
        return printed().includes('Production topology running.');
      },
      600_000,
      'prod:local ready',
    );
    apis = [`http://127.0.0.1:${port}`, `http://127.0.0.1:${port + 1}`];
    for (const name of ['api-1', 'api-2', 'worker-1', 'worker-2']) pids.set(name, pidOf(name));
    temporalConnection = await Connection.connect({ address: `127.0.0.1:${serverPort}` });
    temporal = new Client({ connection: temporalConnection });
    const unipile = new UnipileApi(simUrl, 'prod-sim-key', 5000);
    await registerAccountStatusWebhook(unipile, apis[0]!, 'prod-webhook-secret');
  }, 900_000);

  afterAll(async () => {
    if (topology && topology.exitCode === null) {
      topology.kill('SIGINT');
      await new Promise((r) => topology.once('exit', r));
    }
    await temporalConnection?.close();
    await sim.stop();
    await smtp.stop();
  }, 60_000);

  test('it runs on the PostgreSQL-backed server, from lib/', async () => {
    expect(printed()).toMatch(
      /Temporal server v1\.29\.1, pid \d+, on PostgreSQL test_prod_\w+_temporal, test_prod_\w+_temporal_visibility/,
    );
    const system = await temporalConnection.workflowService.getSystemInfo({});
    expect(system.serverVersion).toBe('1.29.1');
    const commands = execFileSync('ps', ['-o', 'args=', '-p', [...pids.values()].join(',')], { encoding: 'utf8' });
    expect(commands).toContain(`${ROOT}/lib/src/api/server.js`);
    expect(commands).toContain(`${ROOT}/lib/src/worker/main.js`);
    for (const api of apis) expect((await fetch(`${api}/readyz`)).status).toBe(200);
  });

  test('connect through the simulator, CREDENTIALS to one API → one email', async () => {
    const accountId = await connectGmail('prod-mail');
    expect((await webhook(apis[0]!, accountId, 'CREDENTIALS')).status).toBe(200);
    await waitFor(() => smtp.messages.some((m) => m.to.includes('prod-mail@example.test')), 60_000, 'email');
    const account = (await api$(apis[1]!, 'GET', `/api/accounts/${accountId}`)).json;
    expect(account).toMatchObject({ status: 'CREDENTIALS', recovery: 'WAITING_FOR_USER' });
    // Operators see it on the server: the account's workflow, found by its search attribute.
    const listed = [];
    for await (const w of temporal.workflow.list({ query: `AccountStatus = "CREDENTIALS"` })) listed.push(w.workflowId);
    expect(listed).toContain(accountWorkflowId(accountId));
    // …and in the Temporal UI that prod:local started: its page, and the list its page shows.
    const ui = `http://127.0.0.1:${Number(env.TEMPORAL_SERVER_PORT) + 1000}`;
    expect(await (await fetch(`${ui}/`)).text()).toMatch(/<html/i);
    const query = encodeURIComponent('AccountStatus="CREDENTIALS"');
    const shown = await (await fetch(`${ui}/api/v1/namespaces/default/workflows?query=${query}`)).json();
    expect(JSON.stringify(shown)).toContain(accountWorkflowId(accountId));
  });

  test('ERROR: the worker running the restarts is SIGKILLed, the other carries the schedule on', async () => {
    const accountId = await connectGmail('prod-restart');
    const ledger = new EventLedger(surface(), [accountId]);
    await ledger.mark();
    sim.script('restart', [{ result: 'fail' }, { result: 'fail' }, { result: 'succeed' }], accountId);
    const posted = await webhook(apis[0]!, accountId, 'ERROR');
    const restarts = () => sim.calls.filter((c) => c.path === `/api/v1/accounts/${accountId}/restart`);
    await waitFor(() => restarts().length >= 1, 30_000, 'first restart');
    const workflowId = accountWorkflowId(accountId);
    let first: { pid: number } | undefined;
    await waitFor(
      async () => (first = (await activityWorkers(workflowId)).find((a) => /restart/i.test(a.type))) !== undefined,
      10_000,
      'the restart activity in history',
    );
    const victim = [...pids.entries()].find(([name, pid]) => name.startsWith('worker') && pid === first!.pid);
    const survivor = [...pids.entries()].find(([name, pid]) => name.startsWith('worker') && pid !== first!.pid);
    process.kill(first!.pid, 'SIGKILL');
    const killedAt = Date.now();

    await waitFor(() => restarts().length >= 3, 90_000, 'restarts after the kill').catch(() => undefined);
    await waitFor(
      async () => (await api$(apis[1]!, 'GET', `/api/accounts/${accountId}`)).json?.recovery === 'NONE',
      30_000,
      'incident closed',
    ).catch(() => undefined);
    const later = (await activityWorkers(workflowId)).filter((a) => /restart/i.test(a.type)).slice(1);
    const victimDownFor = Date.now() - killedAt;
    const recovery = (await api$(apis[1]!, 'GET', `/api/accounts/${accountId}`)).json?.recovery;
    // prod:local starts the dead worker again (as systemd would), after PROD_LOCAL_RESTART_DELAY.
    await waitFor(() => pidOf(victim![0]) !== first!.pid, 60_000, 'the worker restarted').catch(() => undefined);
    const events = await ledger.count([{ message: 'ERROR', accepted: posted.status === 200 ? 1 : 0 }]);
    recordReliability({
      injected: 'SIGKILL to the worker process that ran the first restart (prod:local topology; back after 40 s)',
      times: 1,
      expected: 'the surviving worker runs every later restart while the other is down; the incident closes',
      observed:
        `${restarts().length} restarts; later ones by pid(s) ${[...new Set(later.map((a) => a.pid))].join(', ')} ` +
        `(survivor ${survivor?.[1]}, killed ${first!.pid}); recovery ${recovery} ${(victimDownFor / 1000).toFixed(0)} s after the kill`,
      eventsLost: events.lost,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(posted.status).toBe(200);
    expect(events.lost).toBe(0);
    expect(victim).toBeDefined(); // one of the two workers ran it
    expect(survivor).toBeDefined();
    expect(later.length).toBeGreaterThanOrEqual(2);
    // All of them by the worker that was never killed, not by the killed one started again.
    for (const a of later) expect(a.pid).toBe(survivor![1]);
    expect(Date.parse(restarts()[2]!.at)).toBeGreaterThan(killedAt);
    expect(victimDownFor).toBeLessThan(40_000); // the incident closed before the killed worker could be back
    expect(recovery).toBe('NONE');
    expect(pidOf(victim![0])).not.toBe(first!.pid);
  });

  test('one API process SIGKILLed mid-burst: the other keeps answering; every accepted webhook delivered', async () => {
    const accountId = await connectGmail('prod-api-kill');
    const ledger = new EventLedger(surface(), [accountId]);
    await ledger.mark();
    // 120 webhooks, one at a time through each API (as Unipile's retries would come), api-1 killed a third of the way.
    const messages = Array.from({ length: 60 }, (_, i) => (i % 2 ? 'OK' : 'CONNECTING'));
    const answers: { api: number; message: string; status: number }[] = [];
    const send = async (api: number) => {
      for (const message of messages) {
        const res = await webhook(apis[api]!, accountId, message).catch(() => null);
        answers.push({ api, message, status: res?.status ?? 0 });
      }
    };
    const burst = Promise.all([send(0), send(1)]);
    await waitFor(() => answers.filter((a) => a.api === 0).length >= 20, 30_000, 'api-1 mid-burst');
    process.kill(pids.get('api-1')!, 'SIGKILL');
    await burst;
    const accepted = (message: string) => answers.filter((a) => a.message === message && a.status === 200).length;
    await waitFor(
      async () => (await api$(apis[1]!, 'GET', '/api/receipts?state=pending')).json.items.length === 0,
      60_000,
      'every receipt forwarded',
    ).catch(() => undefined);
    await waitFor(async () => (await fetch(`${apis[0]}/healthz`).catch(() => null))?.ok === true, 60_000, 'api-1 back');
    const events = await ledger.count([
      { message: 'CONNECTING', accepted: accepted('CONNECTING') },
      { message: 'OK', accepted: accepted('OK') },
    ]);
    const refusedByKilled = answers.filter((a) => a.api === 0 && a.status !== 200).length;
    recordReliability({
      injected: 'SIGKILL to one of two API processes while both received webhooks (prod:local topology)',
      times: 1,
      expected:
        'the other answers throughout; every webhook answered 200 is delivered; at most the one being forwarded at the kill is signalled twice (the workflow drops the copy by receipt id)',
      observed:
        `${answers.filter((a) => a.status === 200).length} of ${answers.length} answered 200 (api-1 failed ${refusedByKilled} ` +
        `after the kill, api-2 ${answers.filter((a) => a.api === 1 && a.status !== 200).length}); ` +
        `${events.stored} receipts, ${events.delivered} delivered, ${events.duplicates} signalled twice`,
      eventsLost: events.lost,
      emailsLost: null,
      duplicateEmails: null,
    });
    expect(answers.filter((a) => a.api === 1).every((a) => a.status === 200)).toBe(true);
    expect(refusedByKilled).toBeGreaterThan(0); // the kill did land mid-burst
    expect(events.lost).toBe(0);
    // Receipts are forwarded one at a time per account: a kill can leave at most one signalled but not marked.
    expect(events.duplicates).toBeLessThanOrEqual(1);
  });
});
