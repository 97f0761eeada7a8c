import { maybeRecordHistory } from '../helpers/histories';
import type { Server } from 'node:http';
import { serve } from '../helpers/http-peer';
import { releaseHolds } from '../../src/providers/incidents';
import { currentDetails } from '../helpers/reconcile';
import { Stack, sleep, waitFor } from '../helpers/stack';

// Provider incidents through the public surface: Unipile's webhooks in; GET /api/providers, /metrics, the events
// pushed to the backend, the emails at the SMTP peer and the Temporal UI's view of the singleton out.
const SECRET = 'backend-secret-0123456789';
const CHECK_MS = 1000;
const WINDOW_MS = 10_000;
const SETTLE_MS = 4000;

interface Pushed {
  type: string;
  data: Record<string, unknown>;
}

describe('provider incidents', () => {
  const pushed: Pushed[] = [];
  let backend: { server: Server; url: string };
  let stack: Stack;

  beforeAll(async () => {
    backend = await serve((_req, body, res) => {
      pushed.push(JSON.parse(body) as Pushed);
      res.writeHead(204).end();
    });
    stack = await new Stack({
      env: {
        BACKEND_WEBHOOK_URL: `${backend.url}/keeper-events`,
        BACKEND_WEBHOOK_SECRET: SECRET,
        PROVIDER_INCIDENT_MIN_ACCOUNTS: '3',
        PROVIDER_INCIDENT_SHARE: '50',
        PROVIDER_INCIDENT_WINDOW: `${WINDOW_MS}ms`,
        PROVIDER_INCIDENT_CHECK_INTERVAL: `${CHECK_MS}ms`,
        PROVIDER_HOLD_RECHECK: '1m',
        EMAIL_SETTLE: `${SETTLE_MS}ms`,
        // No reminders within the test: each broken account gets exactly its first email.
        REMINDER_SCHEDULE: '1h',
        OPS_CACHE_TTL: '100ms',
      },
    }).start();
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await new Promise((r) => backend?.server.close(r));
  });

  const providers = async () => {
    const res = await stack.api$('GET', '/api/providers');
    expect(res.status).toBe(200);
    return res.json.providers as {
      provider: string;
      watched: number;
      broken: number;
      openedInWindow: number;
      incident: null | { id: number; openedBy: string; heldEmails: number };
    }[];
  };
  const provider = async (name: string) => (await providers()).find((p) => p.provider === name);
  const metric = async (name: string) => {
    const text = await (await fetch(`${stack.api.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`unipile_provider_incident_open{provider="${name}"}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };
  const mailsTo = (userId: string) => stack.smtp.messages.filter((m) => m.to.includes(`${userId}@example.test`));
  const pushedOf = (type: string, name: string) => pushed.filter((e) => e.type === type && e.data.provider === name);

  test('a burst of CREDENTIALS opens the provider incident; emails wait; closing emails exactly the still-broken, once', async () => {
    // Four Google accounts and one Outlook account, each with its user's email.
    const users = ['g1', 'g2', 'g3', 'g4'];
    // One at a time: the wizard helper recognises its new account as the one that was not there before.
    const google: string[] = [];
    for (const u of users) google.push(await stack.connectedAccount({ userId: `pi-${u}`, provider: 'GOOGLE' }));
    expect(new Set(google).size).toBe(4);
    const outlook = await stack.connectedAccount({ userId: 'pi-o1', provider: 'OUTLOOK' });
    expect(await provider('GOOGLE_OAUTH')).toMatchObject({ watched: 4, broken: 0, incident: null });
    expect(await metric('GOOGLE_OAUTH')).toBe(0);

    // Three of the four (75 %, at least 3) lose their credentials at once; the Outlook account too (1 of 1: under
    // the minimum of 3, so no incident for OUTLOOK).
    const t0 = Date.now();
    await Promise.all(google.slice(0, 3).map((id) => stack.postWebhook(id, 'CREDENTIALS', 'GOOGLE_OAUTH')));
    await stack.postWebhook(outlook, 'CREDENTIALS', 'OUTLOOK');
    await waitFor(async () => !!(await provider('GOOGLE_OAUTH'))?.incident, 30_000, 'GOOGLE_OAUTH in incident');
    const openedAfterMs = Date.now() - t0;
    const google$ = (await provider('GOOGLE_OAUTH'))!;
    expect(google$).toMatchObject({ watched: 4, broken: 3, openedInWindow: 3 });
    expect(google$.incident).toMatchObject({ openedBy: 'detector' });
    expect(openedAfterMs).toBeLessThan(60_000);
    expect((await provider('OUTLOOK'))?.incident).toBeNull();

    await waitFor(async () => (await metric('GOOGLE_OAUTH')) === 1, 10_000, 'metric 1');
    expect(await metric('OUTLOOK')).toBe(0);
    await waitFor(async () => pushedOf('provider.incident_opened', 'GOOGLE_OAUTH').length === 1, 15_000, 'pushed');
    expect(pushedOf('provider.incident_opened', 'GOOGLE_OAUTH')[0]!.data).toMatchObject({
      incidentId: google$.incident!.id,
      openedBy: 'detector',
    });

    // The Temporal UI: the singleton's details say it in words, and its search attribute lists the provider.
    await waitFor(
      async () => {
        const d = await describeSingleton();
        return d.details.includes('GOOGLE_OAUTH in incident since') && d.providers.includes('GOOGLE_OAUTH');
      },
      10_000,
      'singleton details and search attribute',
    );
    expect((await describeSingleton()).details).toContain('3 broken of 4 watched');

    // While open, no email to the Google users, well past the settle time; the Outlook user gets theirs.
    await waitFor(async () => mailsTo('pi-o1').length === 1, 30_000, 'the Outlook user emailed');
    await sleep(SETTLE_MS + 2 * CHECK_MS);
    for (const u of users) expect(mailsTo(`pi-${u}`)).toHaveLength(0);
    await waitFor(async () => (await provider('GOOGLE_OAUTH'))!.incident!.heldEmails === 3, 15_000, '3 emails held');

    // One recovers meanwhile; then an operator closes the incident.
    await stack.postWebhook(google[2]!, 'OK', 'GOOGLE_OAUTH');
    await waitFor(async () => (await stack.accountRow(google[2]!))?.recovery === 'NONE', 15_000, 'g3 recovered');
    const closed = await stack.api$('POST', '/api/providers/GOOGLE_OAUTH/incident', { action: 'close' });
    expect(closed.status).toBe(200);
    expect(closed.json).toMatchObject({ changed: true, provider: { provider: 'GOOGLE_OAUTH', incident: null } });
    await waitFor(async () => pushedOf('provider.incident_closed', 'GOOGLE_OAUTH').length === 1, 15_000, 'closed');
    expect(pushedOf('provider.incident_closed', 'GOOGLE_OAUTH')[0]!.data).toMatchObject({ closedBy: 'operator' });

    // The two still broken get their email, once each; the recovered one and the healthy one none.
    await waitFor(async () => mailsTo('pi-g1').length + mailsTo('pi-g2').length === 2, 30_000, 'held emails sent');
    await sleep(3 * CHECK_MS);
    expect([1, 2, 3, 4].map((n) => mailsTo(`pi-g${n}`).length)).toEqual([1, 1, 0, 0]);
    expect(await stack.db('provider_email_holds').count({ n: '*' }).first()).toMatchObject({ n: '0' });

    expect(await provider('GOOGLE_OAUTH')).toMatchObject({ broken: 2, incident: null });
    expect(await metric('GOOGLE_OAUTH')).toBe(0);
    expect((await describeSingleton()).providers).toEqual([]);
    const address = stack.config.TEMPORAL_ADDRESS;
    maybeRecordHistory(address, `account-${google[0]}`, 'provider-hold-released');
    maybeRecordHistory(
      address,
      `provider-incidents:${stack.config.TEMPORAL_TASK_QUEUE}`,
      'provider-incidents-open-close',
    );
  }, 180_000);

  test('failures from before a close do not reopen it, though still inside the window', async () => {
    const ids: string[] = [];
    for (const u of ['t1', 't2', 't3'])
      ids.push(await stack.connectedAccount({ userId: `pi-${u}`, provider: 'TELEGRAM' }));
    const failedAt = Date.now();
    await Promise.all(ids.map((id) => stack.postWebhook(id, 'CREDENTIALS', 'TELEGRAM')));
    await waitFor(async () => !!(await provider('TELEGRAM'))?.incident, 30_000, 'TELEGRAM in incident');
    expect((await stack.api$('POST', '/api/providers/TELEGRAM/incident', { action: 'close' })).status).toBe(200);
    // Three checks later the three failures are still inside the window, and still broken: no new incident.
    await sleep(3 * CHECK_MS);
    const after = await provider('TELEGRAM');
    expect(Date.now() - failedAt).toBeLessThan(WINDOW_MS);
    expect(after).toMatchObject({ watched: 3, broken: 3, openedInWindow: 0, incident: null });
    await waitFor(async () => pushedOf('provider.incident_closed', 'TELEGRAM').length === 1, 15_000, 'closed pushed');
    expect(pushedOf('provider.incident_opened', 'TELEGRAM')).toHaveLength(1);
  }, 120_000);

  test('the detector closes its incident once under half the share for a whole window', async () => {
    const ids: string[] = [];
    for (const u of ['w1', 'w2', 'w3'])
      ids.push(await stack.connectedAccount({ userId: `pi-${u}`, provider: 'WHATSAPP' }));
    await Promise.all(ids.map((id) => stack.postWebhook(id, 'CREDENTIALS', 'WHATSAPP')));
    await waitFor(async () => !!(await provider('WHATSAPP'))?.incident, 30_000, 'WHATSAPP in incident');
    await Promise.all(ids.map((id) => stack.postWebhook(id, 'OK', 'WHATSAPP')));
    const recovered = Date.now();
    await waitFor(async () => (await provider('WHATSAPP'))?.broken === 0, 15_000, 'all recovered');
    // Not before a whole window below the share…
    await sleep(WINDOW_MS / 2);
    expect((await provider('WHATSAPP'))?.incident).not.toBeNull();
    // …and within a window and a few checks after it.
    await waitFor(async () => (await provider('WHATSAPP'))?.incident === null, WINDOW_MS + 10_000, 'closed');
    expect(Date.now() - recovered).toBeGreaterThanOrEqual(WINDOW_MS);
    await waitFor(async () => pushedOf('provider.incident_closed', 'WHATSAPP').length === 1, 15_000, 'pushed');
    expect(pushedOf('provider.incident_closed', 'WHATSAPP')[0]!.data).toMatchObject({ closedBy: 'detector' });
  }, 120_000);

  test('operators open and close by hand; bad input is a clear 4xx', async () => {
    const open = await stack.api$('POST', '/api/providers/SIGNAL_X/incident', { action: 'open' });
    expect(open.status).toBe(200);
    expect(open.json).toMatchObject({
      changed: true,
      provider: { provider: 'SIGNAL_X', watched: 0, incident: { openedBy: 'operator' } },
    });
    const again = await stack.api$('POST', '/api/providers/SIGNAL_X/incident', { action: 'open' });
    expect(again.json).toMatchObject({
      changed: false,
      provider: { incident: { id: open.json.provider.incident.id } },
    });
    await waitFor(async () => pushedOf('provider.incident_opened', 'SIGNAL_X').length === 1, 15_000, 'pushed');
    // A hand-opened incident outlives a whole window with nothing broken: only a hand (or the longest hold) closes it.
    await sleep(WINDOW_MS + 2 * CHECK_MS);
    expect((await provider('SIGNAL_X'))?.incident).toMatchObject({ openedBy: 'operator' });

    const close = await stack.api$('POST', '/api/providers/SIGNAL_X/incident', { action: 'close' });
    expect(close.status).toBe(200);
    expect(close.json.provider.incident).toBeNull();
    const twice = await stack.api$('POST', '/api/providers/SIGNAL_X/incident', { action: 'close' });
    expect(twice.status).toBe(409);
    expect(twice.json.error.code).toBe('no_open_incident');

    for (const [path, body] of [
      ['/api/providers/linkedin/incident', { action: 'open' }],
      ['/api/providers/L/incident', { action: 'open' }],
      ['/api/providers/LINKEDIN/incident', { action: 'pause' }],
      ['/api/providers/LINKEDIN/incident', { action: 'open', extra: 1 }],
      ['/api/providers/LINKEDIN/incident', undefined],
    ] as const) {
      const res = await stack.api$('POST', path, body);
      expect([path, res.status]).toEqual([path, 400]);
    }
    const anonymous = await fetch(`${stack.api.url}/api/providers`);
    expect(anonymous.status).toBe(401);
  }, 60_000);

  test('releasing goes page by page, and a held account whose workflow is gone just loses its row', async () => {
    // The workers stop meanwhile, so that the singleton does not release these holds itself.
    await stack.stopWorkers();
    try {
      await releaseInPages();
    } finally {
      await stack.startWorkers();
    }
  });

  async function releaseInPages(): Promise<void> {
    // A fault no client can cause: 250 holds of a closed incident, for accounts that have no workflow.
    const [row] = await stack
      .db('provider_incidents')
      .insert({ provider: 'GONE_PROVIDER', opened_by: 'operator', reason: 'test', closed_at: stack.db.fn.now() })
      .returning('id');
    const holds = Array.from({ length: 250 }, (_, i) => ({
      account_id: `gone-${i}`,
      provider: 'GONE_PROVIDER',
      incident_id: Number(row.id),
    }));
    await stack.db('provider_email_holds').insert(holds);
    const pages: number[] = [];
    const done = await releaseHolds(stack.db, stack.client, { pageSize: 100, progress: (n) => pages.push(n) });
    expect(done).toEqual({ released: 250, more: false });
    expect(pages).toEqual([100, 200, 250]);
    expect(
      await stack.db('provider_email_holds').where({ provider: 'GONE_PROVIDER' }).count({ n: '*' }).first(),
    ).toMatchObject({ n: '0' });
  }

  /** What an operator sees of the singleton in the Temporal UI: its current details and its search attribute. */
  async function describeSingleton(): Promise<{ details: string; providers: string[] }> {
    const workflowId = `provider-incidents:${stack.config.TEMPORAL_TASK_QUEUE}`;
    const described = await stack.client.workflow.getHandle(workflowId).describe();
    const providers = (described.searchAttributes.ProviderIncidents as string[] | undefined) ?? [];
    return { details: await currentDetails(stack, workflowId), providers };
  }
});
