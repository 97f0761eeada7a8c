import { CookieCipher } from '../../src/platform/cipher';
import { newConnectionId, sealSecret } from '../../src/connections/store';
import { sweepConnectionSecrets } from '../../src/connections/sweep';
import { createLogger } from '../../src/platform/logger';
import { CONNECTION_WORKFLOW_TYPE, connectionWorkflowId } from '../../src/workflows/connection/contract';
import { maybeRecordHistory } from '../helpers/histories';
import { recordReliability } from '../helpers/reliability';
import { Stack, waitFor } from '../helpers/stack';
import { freePort } from '../helpers/temporal-dev-server';

// What the user typed is kept (encrypted) only while its connection may still use it: a connection
// that never starts, one abandoned by a crash, and answers racing for one step leave nothing behind.
const ciphertexts = (row: Record<string, unknown>) =>
  [row.credentials_ciphertext, row.answer_ciphertext, row.qrcode_ciphertext].filter((c) => c !== null).length;

describe('Temporal unreachable when a connection starts', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Nothing listens on this port: the API cannot start the connection's workflow.
    stack = await new Stack({ temporalAddress: `127.0.0.1:${await freePort()}`, workers: false }).start();
  });
  afterAll(() => stack?.stop());

  test('503, and neither the password nor a live-looking connection is left behind', async () => {
    const password = 'li-pw-never-started';
    const res = await stack.api$('POST', '/api/users/unstarted/accounts', {
      provider: 'LINKEDIN',
      username: 'unstarted@example.test',
      password,
    });
    expect({ status: res.status, code: res.json?.error?.code }).toEqual({ status: 503, code: 'unavailable' });
    // As the backend sees it: nothing in progress for this user.
    const listed = (await stack.api$('GET', '/api/users/unstarted/connections')).json.items;
    const rows = await stack.db('connections').where({ user_id: 'unstarted' });
    const left = rows.reduce((n, row) => n + ciphertexts(row), 0);
    const livePending = rows.filter((r) => r.state === 'pending').length;
    const expectedEmails = 0; // nothing here emails anyone: any email would be a duplicate
    recordReliability({
      injected: 'Temporal unreachable (closed port) when a custom-auth connection is started',
      times: 1,
      expected: '503; no ciphertext and no pending connection left',
      observed: `${res.status}; ${left} ciphertext(s), ${livePending} pending row(s), ${listed.length} listed`,
      eventsLost: livePending,
      emailsLost: Math.max(0, expectedEmails - stack.smtp.messages.length),
      duplicateEmails: Math.max(0, stack.smtp.messages.length - expectedEmails),
    });
    expect(listed).toEqual([]);
    expect(left).toBe(0);
    expect(livePending).toBe(0);
    expect(stack.logLines.join('\n')).not.toContain(password);
    expect(stack.connectCalls()).toHaveLength(0);
  });
});

describe('secrets of connections that are not live are swept; racing answers never overwrite each other', () => {
  const stack = new Stack({
    env: { CHECKPOINT_TIMEOUT: '2s', CONNECTION_POLL_INTERVAL: '300ms', CONNECTION_SWEEP_INTERVAL: '500ms' },
  });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('an abandoned pending row loses its secrets and its listing; a live slow connection keeps its password', async () => {
    // A row an API process left when it died between the insert and the workflow's start (no workflow exists).
    const cipher = new CookieCipher(stack.config.COOKIE_ENCRYPTION_KEY);
    const zombie = newConnectionId();
    await stack.db('connections').insert({
      id: zombie,
      user_id: 'swept',
      provider: 'LINKEDIN',
      kind: 'create',
      step: JSON.stringify({ type: 'connecting' }),
      credentials_ciphertext: sealSecret(cipher, zombie, 'credentials', JSON.stringify({ password: 'pw-zombie' })),
      created_at: stack.db.raw(`now() - interval '1 hour'`),
      updated_at: stack.db.raw(`now() - interval '1 hour'`),
    });
    expect((await stack.api$('GET', '/api/users/swept/connections')).json.items).toHaveLength(1);

    // A live connection older than CHECKPOINT_TIMEOUT: Unipile answers its first call after 3 s with a 503, the
    // call is retried a second later and still needs the password.
    stack.script('connect', [{ result: 'http_error', status: 503, delayMs: 3000 }]);
    const live = await stack.api$('POST', '/api/users/slow/accounts', {
      provider: 'TWITTER',
      username: 'slow@example.test',
      password: 'tw-pw-slow-live',
    });

    await waitFor(
      async () => ciphertexts(await stack.db('connections').where({ id: zombie }).first()) === 0,
      10_000,
      'the abandoned row swept',
    );
    expect((await stack.api$('GET', '/api/users/swept/connections')).json.items).toEqual([]);
    expect((await stack.api$('GET', `/api/connections/${zombie}`)).json.step.type).toBe('failed');
    // The live one was not touched by the sweep: its retry sent the password and it connected.
    expect(live.json.step).toMatchObject({ type: 'connected' });
    const calls = stack
      .connectCalls()
      .filter((c) => (c.body as { username?: string }).username === 'slow@example.test');
    expect(calls.map((c) => (c.body as { password?: string }).password)).toEqual([
      'tw-pw-slow-live',
      'tw-pw-slow-live',
    ]);
  });

  test('two concurrent answers to one step: one is checked, the other is 409 step_busy, never mixed', async () => {
    for (let round = 0; round < 3; round++) {
      const right = `2fa-right-${round}-7070`;
      const wrong = `2fa-wrong-${round}-8080`;
      // Unipile takes a moment to check a code, so the two answers overlap.
      stack.script('connect', [{ result: 'checkpoint', checkpointType: '2FA', code: right }]);
      stack.script('checkpoint', [{ result: 'succeed', delayMs: 800 }]);
      const started = await stack.api$('POST', `/api/users/racer-${round}/accounts`, {
        provider: 'LINKEDIN',
        username: `racer-${round}@example.test`,
        password: 'li-pw-racer',
      });
      expect(started.json.step).toMatchObject({ type: 'checkpoint' });
      const before = stack.sim.calls.length;
      const codes = round % 2 === 0 ? [right, wrong] : [wrong, right];
      const answers = await Promise.all(
        codes.map((code) => stack.api$('POST', `/api/connections/${started.json.connectionId}/steps`, { code })),
      );
      const checked = stack.sim.calls
        .slice(before)
        .filter((c) => c.path === '/api/v1/accounts/checkpoint')
        .map((c) => (c.body as { code: string }).code);
      const busy = answers.filter((a) => a.status === 409 && a.json.error.code === 'step_busy').length;
      const taken = answers.findIndex((a) => a.status !== 409);
      expect({ round, busy, checked }).toEqual({ round, busy: 1, checked: [codes[taken]] });
      expect(answers[taken]!.status).toBe(codes[taken] === right ? 200 : 422);
      const row = await stack.db('connections').where({ id: started.json.connectionId }).first();
      expect(row.answer_ciphertext).toBeNull();
    }
  });
});

describe('a connection whose own bookkeeping fails', () => {
  // No sweep during the test: what is checked is the connection workflow's own erasure.
  const stack = new Stack({
    env: { CHECKPOINT_TIMEOUT: '2s', CONNECTION_POLL_INTERVAL: '300ms', CONNECTION_SWEEP_INTERVAL: '1h' },
  });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('ends failed (the workflow does not fail) and erases the QR payload once the database takes writes again', async () => {
    // PostgreSQL refuses every write that would end this user's connections, past all of the bookkeeping's retries.
    await stack.db.raw(`
      create function refuse_final_state() returns trigger language plpgsql as $$
      begin raise exception 'injected: final state refused'; end $$;
      create trigger refuse_final_state before update on connections for each row
        when (new.user_id = 'bk-fail' and new.state <> 'pending') execute function refuse_final_state();`);
    const res = await stack.api$('POST', '/api/users/bk-fail/accounts', { provider: 'WHATSAPP' });
    expect(res.json.step.type).toBe('qrcode');
    const { connectionId } = res.json;
    const row = () => stack.db('connections').where({ id: connectionId }).first();
    expect(ciphertexts(await row())).toBe(1);
    // The step expires after 2 s; its record is refused until the bookkeeping's retries (about 2.5 min) run out.
    const handle = stack.client.workflow.getHandle(`connection-${connectionId}`);
    await waitFor(
      async () => {
        const { events } = await handle.fetchHistory();
        const failures = events!.filter((e) => e.activityTaskFailedEventAttributes).length;
        return failures >= 1;
      },
      240_000,
      'the bookkeeping out of retries',
    );
    await stack.db.raw('drop trigger refuse_final_state on connections; drop function refuse_final_state();');
    await waitFor(async () => (await handle.describe()).status.name !== 'RUNNING', 90_000, 'the workflow closed');
    const status = (await handle.describe()).status.name;
    const left = ciphertexts(await row());
    const step = (await stack.api$('GET', `/api/connections/${connectionId}`)).json.step;
    const listed = (await stack.api$('GET', '/api/users/bk-fail/connections')).json.items.length;
    const expectedEmails = 0;
    recordReliability({
      injected: 'PostgreSQL refusing the final record of a connection past all bookkeeping retries, then accepting',
      times: 1,
      expected: 'workflow completes, connection failed: internal_error, no ciphertext left',
      observed: `workflow ${status}; step ${JSON.stringify(step)}; ${left} ciphertext(s); ${listed} listed`,
      eventsLost: listed,
      emailsLost: Math.max(0, expectedEmails - stack.smtp.messages.length),
      duplicateEmails: Math.max(0, stack.smtp.messages.length - expectedEmails),
    });
    expect(status).toBe('COMPLETED');
    expect(step).toEqual({ type: 'failed', error: 'internal_error' });
    expect(left).toBe(0);
    expect(listed).toBe(0);
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `connection-${connectionId}`, 'connection-bookkeeping-failed');
  }, 400_000);
});

describe('the sweep pages through every old pending row', () => {
  // No workers: no background sweep runs; the test runs one pass itself, with a small page.
  const stack = new Stack({ workers: false });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('old rows whose workflows still run do not hide a newer abandoned one from the sweep', async () => {
    const cipher = new CookieCipher(stack.config.COOKIE_ENCRYPTION_KEY);
    const insertOld = async (minutesAgo: number) => {
      const id = newConnectionId();
      await stack.db('connections').insert({
        id,
        user_id: 'paged',
        provider: 'LINKEDIN',
        kind: 'create',
        step: JSON.stringify({ type: 'connecting' }),
        credentials_ciphertext: sealSecret(cipher, id, 'credentials', JSON.stringify({ password: `pw-${id}` })),
        created_at: stack.db.raw(`now() - make_interval(mins => ?)`, [minutesAgo]),
        updated_at: stack.db.raw(`now() - make_interval(mins => ?)`, [minutesAgo]),
      });
      return id;
    };
    // Two of the oldest rows belong to workflows that still run (on a queue no worker polls, so they never end);
    // the sweep must keep them and still reach the newer abandoned row.
    const live = [await insertOld(50), await insertOld(40)];
    const handles = [];
    for (const id of live) {
      handles.push(
        await stack.client.workflow.start(CONNECTION_WORKFLOW_TYPE, {
          workflowId: connectionWorkflowId(id),
          taskQueue: `${stack.config.TEMPORAL_TASK_QUEUE}-unpolled`,
          args: [{ connectionId: id, checkpointTimeoutMs: 60_000, pollIntervalMs: 1000 }],
        }),
      );
    }
    const abandoned = await insertOld(30);
    try {
      await sweepConnectionSecrets({
        db: stack.db,
        temporal: stack.client,
        logger: createLogger('silent', 'test'),
        checkpointTimeoutMs: 2000,
        batchSize: live.length,
      });
      const rows = await stack.db('connections').whereIn('id', [...live, abandoned]);
      const left = Object.fromEntries(rows.map((r) => [r.id, ciphertexts(r)]));
      expect(left).toEqual({ [live[0]!]: 1, [live[1]!]: 1, [abandoned]: 0 });
    } finally {
      for (const h of handles) await h.terminate('test over');
      await stack.db('connections').whereIn('id', live).del();
    }
  });
});
