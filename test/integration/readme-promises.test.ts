import { createCipheriv, randomBytes } from 'node:crypto';
import { CookieCipher, cookieAad } from '../../src/platform/cipher';
import { loadConfigPart } from '../../src/platform/config';
import { AccountRecoveryKey } from '../../src/workflows/account/contract';
import { spawnTs } from '../helpers/processes';
import { sleep, Stack, waitFor } from '../helpers/stack';

// What the README and docs/ promise and no other test checked, each read through the surface a client has.
describe('README promises', () => {
  const stack = new Stack({
    env: { RECONNECT_RETRY_INTERVAL: '1s', RECONNECT_MAX_RETRIES: '1', REMINDER_SCHEDULE: '2s' },
  });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());
  const mailsTo = (address: string) => stack.smtp.messages.filter((m) => m.to.includes(address));

  test('health?fresh=true asks Unipile now; without it the stored status answers', async () => {
    const accountId = await stack.connectedAccount({ userId: 'fresh', provider: 'WHATSAPP' });
    expect((await stack.api$('GET', `/api/accounts/${accountId}/health?fresh=true`)).json).toMatchObject({
      usable: true,
      status: 'OK',
    });
    stack.sim.accounts.delete(accountId); // gone at Unipile, no webhook yet
    expect((await stack.api$('GET', `/api/accounts/${accountId}/health?fresh=true`)).json).toMatchObject({
      usable: false,
      status: 'DELETED',
    });
    expect((await stack.api$('GET', `/api/accounts/${accountId}/health`)).json).toMatchObject({ usable: true });
  });

  test('events page with limit, before and nextCursor: every event once, newest first', async () => {
    const accountId = await stack.connectedAccount({ userId: 'pager', provider: 'TELEGRAM' });
    for (const message of ['CONNECTING', 'OK', 'CONNECTING', 'OK']) {
      await stack.postWebhook(accountId, message, 'TELEGRAM');
      await sleep(300);
    }
    const all = async () => (await stack.api$('GET', `/api/accounts/${accountId}/events?limit=200`)).json.items;
    await waitFor(async () => (await all()).length >= 5, 10_000, 'events');
    const everything = (await all()) as { id: number }[];
    const paged: { id: number }[] = [];
    let cursor: number | null = null;
    do {
      const page: { json: { items: { id: number }[]; nextCursor: number | null } } = await stack.api$(
        'GET',
        `/api/accounts/${accountId}/events?limit=2${cursor ? `&before=${cursor}` : ''}`,
      );
      expect(page.json.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.json.items);
      cursor = page.json.nextCursor;
    } while (cursor !== null);
    expect(paged.map((e) => e.id)).toEqual(everything.map((e) => e.id));
    expect([...paged.map((e) => e.id)].sort((a, b) => b - a)).toEqual(paged.map((e) => e.id));
  });

  test('reconnect-link answers 201 {url, expiresAt}; an unknown account 404', async () => {
    const accountId = await stack.connectedAccount({ userId: 'relink', provider: 'GOOGLE' });
    const link = await stack.api$('POST', `/api/accounts/${accountId}/reconnect-link`);
    expect(link.status).toBe(201);
    expect(link.json.url).toContain(`${stack.sim.url}/hosted/`);
    expect(Date.parse(link.json.expiresAt)).toBeGreaterThan(Date.now());
    expect((await stack.api$('POST', '/api/accounts/acc_nobody/reconnect-link')).status).toBe(404);
  });

  test('a body over 64 kB is 413; a checkpoint code with no checkpoint waiting is 404', async () => {
    const big = await stack.api$('PUT', '/api/users/big', { email: 'big@example.test', name: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('too_large');
    const none = await stack.api$('POST', '/api/accounts/acc_nowait/checkpoint', { code: '123456' });
    expect(none.status).toBe(404);
  });

  test('reconnect now on a deleted account is 409', async () => {
    const accountId = await stack.connectedAccount({ userId: 'gone', provider: 'WHATSAPP' });
    expect((await stack.api$('DELETE', `/api/accounts/${accountId}`)).status).toBe(202);
    await waitFor(async () => (await stack.api$('GET', `/api/accounts/${accountId}`)).json.status === 'DELETED');
    const res = await stack.api$('POST', `/api/accounts/${accountId}/reconnect`);
    expect(res.status).toBe(409);
  });

  test('hosted-auth callback: an account Unipile does not know is 404; a name from another link is 403', async () => {
    const lastLink = () =>
      stack.sim.calls.filter((c) => c.path === '/api/v1/hosted/accounts/link').pop()!.body as {
        notify_url: string;
        name: string;
      };
    await stack.api$('POST', '/api/users/cb-a/connect-link', {});
    const a = lastLink();
    await stack.api$('POST', '/api/users/cb-b/connect-link', {});
    const b = lastLink();
    const post = (url: string, body: object) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const unknown = await post(a.notify_url, { status: 'CREATION_SUCCESS', account_id: 'acc_unknown', name: a.name });
    expect(unknown.status).toBe(404);
    const account = stack.sim.createAccount({ type: 'GOOGLE_OAUTH' });
    const mismatch = await post(a.notify_url, { status: 'CREATION_SUCCESS', account_id: account.id, name: b.name });
    expect(mismatch.status).toBe(403);
    expect((await stack.api$('GET', `/api/accounts/${account.id}`)).status).toBe(404);
  });

  test('a checkpoint answer to a background reconnect is a failed attempt with errorType checkpoint', async () => {
    const { accountId } = await stack.linkedinAccount('bg-ckpt', 'member-bg', 'AQEDAbackground-cookie');
    stack.script('reconnect', [{ result: 'checkpoint', checkpointType: '2FA' }, { result: 'succeed' }], accountId);
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await stack.waitForEvent(accountId, 'incident_closed');
    const attempts = (await stack.api$('GET', `/api/accounts/${accountId}/events?limit=100`)).json.items
      .filter((e: { type: string }) => e.type === 'attempt')
      .reverse();
    expect(attempts[0].data).toMatchObject({ outcome: 'failed', errorType: 'checkpoint' });
    expect(attempts[1].data).toMatchObject({ outcome: 'succeeded' });
  });

  test("the README's provider incident and pause steps: the simulator's failure shows in /api/providers; pause, resume", async () => {
    const ids = [
      await stack.connectedAccount({ userId: 'readme-inc-1', provider: 'INSTAGRAM' }),
      await stack.connectedAccount({ userId: 'readme-inc-2', provider: 'INSTAGRAM' }),
    ];
    const sim = async (path: string, body: object = {}) =>
      (
        await fetch(`${stack.sim.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json();
    const instagram = async () =>
      (await stack.api$('GET', '/api/providers')).json.providers.find(
        (p: { provider: string }) => p.provider === 'INSTAGRAM',
      );
    expect(await sim('/_sim/providers/INSTAGRAM/fail', { message: 'CREDENTIALS', spreadMs: 500 })).toMatchObject({
      accounts: 2,
    });
    await waitFor(async () => (await instagram())?.broken === 2, 15_000, 'both accounts broken');
    // Two accounts are below the automatic threshold: the README opens one by hand, reads it, closes it.
    const incident = (action: string) => stack.api$('POST', '/api/providers/INSTAGRAM/incident', { action });
    expect((await instagram())?.incident).toBeNull();
    expect((await incident('open')).status).toBe(200);
    expect((await instagram())?.incident).not.toBeNull();
    expect((await incident('close')).status).toBe(200);
    expect((await instagram())?.incident).toBeNull();
    expect(await sim('/_sim/providers/INSTAGRAM/recover')).toMatchObject({ accounts: 2 });
    await waitFor(async () => (await instagram())?.broken === 0, 15_000, 'both accounts back');
    for (const id of ids) await stack.accountWhen(id, (a) => a.status === 'OK');

    const paused = await stack.api$('POST', `/api/accounts/${ids[0]}/pause`, { reason: 'on leave' });
    expect(paused.status).toBe(200);
    expect(paused.json.workflow.paused).toMatchObject({ reason: 'on leave', until: null });
    const resumed = await stack.api$('POST', `/api/accounts/${ids[0]}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.json.workflow.paused ?? null).toBeNull();
  });

  test('4 tries inside one attempt: four 503s fail the attempt, the schedule goes on', async () => {
    const accountId = await stack.connectedAccount({ userId: 'four', provider: 'WHATSAPP' });
    const errors = Array.from({ length: 4 }, () => ({ result: 'http_error' as const, status: 503 }));
    stack.script('restart', [...errors, { result: 'succeed' }], accountId);
    stack.sim.emitStatus(accountId, 'ERROR');
    await stack.waitForEvent(accountId, 'incident_closed');
    expect(stack.restartCalls(accountId)).toHaveLength(5);
    const attempts = (await stack.events(accountId)).filter((e) => e.type === 'attempt').map((e) => e.data);
    expect(attempts).toEqual([
      expect.objectContaining({ outcome: 'failed', errorType: 'unavailable' }),
      expect.objectContaining({ outcome: 'succeeded' }),
    ]);
  });

  test('after an ERROR escalation the user gets the email, then the reminders; the search attribute says so', async () => {
    const accountId = await stack.connectedAccount({ userId: 'esc-rem', provider: 'OUTLOOK' });
    stack.script('restart', [{ result: 'fail' }, { result: 'fail' }], accountId);
    stack.sim.emitStatus(accountId, 'ERROR');
    await waitFor(() => mailsTo('esc-rem@example.test').length === 2, 30_000, 'email and reminder');
    const [email, reminder] = mailsTo('esc-rem@example.test');
    expect(email!.subject).toMatch(/^Action needed/);
    expect(reminder!.subject).toMatch(/^Reminder/);
    const gap = reminder!.receivedAt - email!.receivedAt;
    expect(gap).toBeGreaterThanOrEqual(1800);
    expect(gap).toBeLessThanOrEqual(7000); // the 2 s reminder, plus what 2 shared cores may add
    // Operators filter on it in the Temporal UI.
    const found: string[] = [];
    await waitFor(
      async () => {
        found.length = 0;
        for await (const wf of stack.client.workflow.list({
          query: `${AccountRecoveryKey.name} = "WAITING_FOR_USER" AND TaskQueue = "${stack.config.TEMPORAL_TASK_QUEUE}"`,
        }))
          found.push(wf.workflowId);
        return found.includes(`account-${accountId}`);
      },
      15_000,
      'visible in the search attribute',
    );
  });

  test('/metrics: request durations by route pattern and code, open incidents by provider, backend events', async () => {
    const accountId = await stack.connectedAccount({ userId: 'metered', provider: 'WHATSAPP' });
    expect((await stack.api$('GET', `/api/accounts/${accountId}`)).status).toBe(200);
    const text = await (await fetch(`${stack.api.url}/metrics`)).text();
    expect(text).toMatch(
      /unipile_http_request_duration_seconds_count\{method="GET",route="\/api\/accounts\/:accountId",code="200"\} [1-9]/,
    );
    expect(text).not.toMatch(/route="\/api\/accounts\/[A-Za-z0-9_-]{10,}"/); // never a raw id
    expect(text).toMatch(/unipile_incidents_open\{provider="OUTLOOK",recovery="WAITING_FOR_USER"\} [1-9]/);
    expect(text).toMatch(/unipile_backend_events\{state="pending"\} 0/);
  });

  test('npm run cookies:rotate re-encrypts every row under the new key, v1 rows included; each still opens', async () => {
    await stack.linkedinAccount('rotate-cli', 'member-rot-cli', 'AQEDArotate-cli-cookie', null);
    await stack.linkedinAccount('rotate-v1', 'member-rot-v1', 'AQEDArotate-v1-cookie', null);
    // One row in the first release's format (v1: associated data joined with ':'), which is only ever read.
    const [oldKeyId, oldKeyText] = stack.env.COOKIE_ENCRYPTION_KEY!.split(':') as [string, string];
    const v1 = (plaintext: string, aad: readonly string[]) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', Buffer.from(oldKeyText, 'base64'), iv, { authTagLength: 16 });
      cipher.setAAD(Buffer.from(aad.join(':'), 'utf8'));
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', oldKeyId, ...[iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url'))].join('.');
    };
    await stack
      .db('linkedin_sessions')
      .where({ user_id: 'rotate-v1' })
      .update({ li_at: v1('AQEDArotate-v1-cookie', cookieAad('rotate-v1', 'member-rot-v1')) });

    const newKey = `k9:${randomBytes(32).toString('base64')}`;
    const run = async () => {
      const output: string[] = [];
      const child = spawnTs(
        'src/commands/rotate-cookie-keys.ts',
        {
          DATABASE_URL: stack.env.DATABASE_URL!,
          COOKIE_ENCRYPTION_KEY: `${newKey},${stack.env.COOKIE_ENCRYPTION_KEY}`,
        },
        output,
      );
      const code = await new Promise((r) => child.once('exit', r));
      return { code, text: output.join('') };
    };
    const first = await run();
    const second = await run();
    // What is at rest afterwards: every row under k9 in the current format, and the new key alone opens each one.
    const rows = (await stack.db('linkedin_sessions').whereIn('user_id', ['rotate-cli', 'rotate-v1'])) as {
      user_id: string;
      linkedin_member_id: string;
      li_at: string;
      cookie_key_id: string;
    }[];
    const newOnly = new CookieCipher(
      loadConfigPart(['COOKIE_ENCRYPTION_KEY'], { COOKIE_ENCRYPTION_KEY: newKey }).COOKIE_ENCRYPTION_KEY,
    );
    const opened = rows.map((r) => ({
      user: r.user_id,
      format: r.li_at.split('.').slice(0, 2).join('.'),
      keyId: r.cookie_key_id,
      liAt: newOnly.decrypt(r.li_at, cookieAad(r.user_id, r.linkedin_member_id)),
    }));
    expect(first.code).toBe(0);
    expect(first.text).toMatch(/re-encrypted [2-9]\d* session\(s\) under key k9/);
    expect(second.text).toContain('re-encrypted 0 session(s) under key k9');
    expect(opened.sort((x, y) => x.user.localeCompare(y.user))).toEqual([
      { user: 'rotate-cli', format: 'v2.k9', keyId: 'k9', liAt: 'AQEDArotate-cli-cookie' },
      { user: 'rotate-v1', format: 'v2.k9', keyId: 'k9', liAt: 'AQEDArotate-v1-cookie' },
    ]);
  });
});

describe('UNIPILE_MAX_RPS', () => {
  const stack = new Stack({ env: { UNIPILE_MAX_RPS: '2', RECONNECT_RETRY_INTERVAL: '1h' } });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('six accounts failing at once are restarted no faster than 2 calls a second', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await stack.connectedAccount({ userId: `rps-${i}`, provider: 'WHATSAPP' }));
    for (const id of ids) stack.sim.emitStatus(id, 'ERROR');
    await waitFor(() => ids.every((id) => stack.restartCalls(id).length === 1), 30_000, 'one restart each');
    const times = ids.map((id) => Date.parse(stack.restartCalls(id)[0]!.at)).sort((a, b) => a - b);
    const span = times[times.length - 1]! - times[0]!;
    // Six calls at 2 a second need at least ~2 s between the first and the last; far more would mean something else.
    expect(span).toBeGreaterThanOrEqual(1800);
    expect(span).toBeLessThanOrEqual(20_000);
  });
});
