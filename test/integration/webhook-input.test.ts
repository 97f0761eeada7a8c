import { Stack, waitFor } from '../helpers/stack';

describe('webhook and API input validation', () => {
  const stack = new Stack();
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const receipts = () =>
    stack
      .db('webhook_receipts')
      .count<{ count: string }[]>('* as count')
      .then((r) => Number(r[0]!.count));
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${stack.api.url}/webhooks/unipile/account-status`, { method: 'POST', headers, body });

  test('missing or wrong Unipile-Auth → 401, nothing stored', async () => {
    const body = JSON.stringify({ AccountStatus: { account_id: 'a1', account_type: 'LINKEDIN', message: 'OK' } });
    const missing = await post(body, { 'content-type': 'application/json' });
    const wrong = await post(body, { 'content-type': 'application/json', 'unipile-auth': 'nope' });
    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect(await receipts()).toBe(0);
  });

  test('malformed JSON → 400 naming the problem, nothing stored', async () => {
    const res = await post('{"AccountStatus": ', {
      'content-type': 'application/json',
      'unipile-auth': 'test-webhook-secret',
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('malformed_json');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts/);
    expect(await receipts()).toBe(0);
  });

  test('wrong shape → 400 naming the field, nothing stored', async () => {
    const res = await post(JSON.stringify({ AccountStatus: { account_type: 'LINKEDIN', message: 'OK' } }), {
      'unipile-auth': 'test-webhook-secret',
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain('AccountStatus.account_id');
    expect(await receipts()).toBe(0);
  });

  test('a body without a JSON content type is still read (Unipile sends none by default)', async () => {
    const account = stack.sim.createAccount({ type: 'LINKEDIN' });
    const res = await post(
      JSON.stringify({ AccountStatus: { account_id: account.id, account_type: 'LINKEDIN', message: 'CONNECTING' } }),
      {
        'unipile-auth': 'test-webhook-secret',
        'content-type': 'text/plain',
      },
    );
    expect(res.status).toBe(200);
  });

  test('unknown message → 200, recorded verbatim, no action', async () => {
    const account = stack.sim.createAccount({ type: 'LINKEDIN' });
    const res = await stack.postWebhook(account.id, 'SOMETHING_NEW');
    expect(res.status).toBe(200);
    const stored = await stack.db('webhook_receipts').where({ account_id: account.id }).first();
    expect(stored.payload).toEqual({
      AccountStatus: { account_id: account.id, account_type: 'LINKEDIN', message: 'SOMETHING_NEW' },
    });
    // An account we have no row for has no history a backend can read: the receipt's outcome says what was done.
    // It is written once the forwarder is done with the receipt, after any signal would have been sent, so no
    // sleep is needed before looking for a workflow.
    const outcome = async () => (await stack.db('webhook_receipts').where({ id: stored.id }).first()).outcome;
    await waitFor(async () => (await outcome()) !== null, 30_000, 'receipt outcome written');
    expect(await outcome()).toBe('no_action');
    const ignored = await stack.db('account_events').where({ account_id: account.id, type: 'event_ignored' });
    expect(ignored.map((e) => e.data)).toEqual([
      { message: 'SOMETHING_NEW', reason: 'unknown', receiptId: Number(stored.id) },
    ]);
    await expect(stack.client.workflow.getHandle(`account-${account.id}`).describe()).rejects.toThrow();
  });

  test('unknown account ids in paths → 404', async () => {
    for (const [method, path] of [
      ['GET', '/api/accounts/nope'],
      ['GET', '/api/accounts/nope/events'],
      ['POST', '/api/accounts/nope/reconnect-link'],
      ['DELETE', '/api/accounts/nope'],
    ] as const) {
      const res = await stack.api$(method, path);
      expect({ path, status: res.status, code: res.json.error.code }).toEqual({ path, status: 404, code: 'not_found' });
    }
  });

  test('backend API needs the bearer token', async () => {
    const res = await stack.api$('GET', '/api/users/u/accounts', undefined, { authorization: 'Bearer wrong' });
    expect(res.status).toBe(401);
  });

  test('bad user body → 400 naming the field; non-JSON body → 415', async () => {
    const bad = await stack.api$('PUT', '/api/users/u', { email: 'not-an-email' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('email');
    const text = await stack.api$('PUT', '/api/users/u', 'email=x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(await stack.db('users').where({ id: 'u' }).first()).toBeUndefined();
  });

  test('healthz and readyz answer; metrics are exposed', async () => {
    expect((await fetch(`${stack.api.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${stack.api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, postgres: 'ok', temporal: 'ok' });
    const metrics = await (await fetch(`${stack.api.url}/metrics`)).text();
    expect(metrics).toContain('unipile_webhooks_received_total');
  });

  test('input PostgreSQL cannot store is a 400 naming the field, never a 500 or 503, and nothing is stored', async () => {
    const before = await receipts();
    const raw = (body: string) =>
      post(body, { 'content-type': 'application/json', 'unipile-auth': 'test-webhook-secret' });
    // A lone surrogate (jsonb refuses it) and a NUL (text refuses it), written as JSON escapes.
    const surrogate = await raw(
      '{"AccountStatus":{"account_id":"a1","account_type":"LINKEDIN","message":"OK\\ud800"}}',
    );
    expect(surrogate.status).toBe(400);
    expect((await surrogate.json()).error.message).toContain('AccountStatus.message');
    const nul = await raw('{"AccountStatus":{"account_id":"a1","account_type":"LINK\\u0000EDIN","message":"OK"}}');
    expect(nul.status).toBe(400);
    expect((await nul.json()).error.message).toContain('AccountStatus.account_type');
    expect(await receipts()).toBe(before);

    const name = await stack.api$('PUT', '/api/users/nul-user', { email: 'n@example.test', name: 'a\u0000b' });
    expect(name.status).toBe(400);
    expect(name.json.error.message).toContain('name');
    const userPath = await stack.api$('PUT', '/api/users/a%00b', { email: 'n@example.test' });
    expect(userPath.status).toBe(400);
    expect(userPath.json.error.message).toContain('userId');
    const huge = await stack.api$('DELETE', '/api/users/u/extension-tokens/1e20');
    expect(huge.status).toBe(400);
    expect(huge.json.error.message).toContain('tokenId');
    const before20 = await stack.api$('GET', '/api/accounts/abc/events?before=1e20');
    expect([400, 404]).toContain(before20.status);
  });
});
