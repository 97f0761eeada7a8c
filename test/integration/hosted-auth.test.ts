import { AccountStatusKey, AccountUserIdKey } from '../../src/workflows/account/contract';
import { Stack, waitFor } from '../helpers/stack';

describe('hosted-auth connect', () => {
  const stack = new Stack();
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('connect-link → wizard → notify_url → account row and workflow → CREATION_SUCCESS → OK', async () => {
    await stack.api$('PUT', '/api/users/u-1', { email: 'ada@example.test', name: 'Ada' });
    const { accountId, landing } = await stack.connectViaWizard('u-1', 'GOOGLE');

    await waitFor(async () => (await stack.accountRow(accountId))?.status === 'OK', 30_000, 'status OK');
    const row = await stack.accountRow(accountId);
    expect(row).toMatchObject({ user_id: 'u-1', account_type: 'GOOGLE_OAUTH', workflow_id: `account-${accountId}` });

    const handle = stack.client.workflow.getHandle(`account-${accountId}`);
    await waitFor(async () => (await handle.describe()).typedSearchAttributes.get(AccountStatusKey) === 'OK');
    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.typedSearchAttributes.get(AccountUserIdKey)).toBe('u-1');

    const listed = await stack.api$('GET', '/api/users/u-1/accounts');
    expect(listed.json.items).toEqual([expect.objectContaining({ accountId, status: 'OK', provider: 'GOOGLE_OAUTH' })]);

    const detail = await stack.api$('GET', `/api/accounts/${accountId}`);
    expect(detail.status).toBe(200);
    expect(detail.json.workflow).toMatchObject({ status: 'OK', recovery: 'NONE', userId: 'u-1' });

    // The wizard sent the browser to our landing page, which lists the account.
    expect(landing).toContain('/connect/done?token=');
    const page = await fetch(landing);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(accountId);
    expect(html).toContain('OK');
    expect(html).not.toContain('Reconnect</a>');

    // Once the account is broken, the same page offers a Reconnect button that leads to a fresh hosted link.
    await stack.postWebhook(accountId, 'CREDENTIALS', 'GOOGLE_OAUTH');
    await waitFor(async () => (await stack.accountRow(accountId))?.status === 'CREDENTIALS', 30_000, 'CREDENTIALS');
    const broken = await (await fetch(landing)).text();
    const button = /href="(\/accounts\/[^"]+\/reconnect\?token=[^"]+)">Reconnect<\/a>/.exec(broken)?.[1];
    expect(button).toBeDefined();
    const redirect = await fetch(`${stack.api.url}${button}`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toContain(`${stack.sim.url}/hosted/`);
  });

  test('a notify_url call without a valid token is refused and stores nothing', async () => {
    const account = stack.sim.createAccount({ type: 'LINKEDIN' });
    const res = await fetch(`${stack.api.url}/webhooks/unipile/hosted-auth?token=forged.token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'CREATION_SUCCESS', account_id: account.id, name: 'x' }),
    });
    expect(res.status).toBe(401);
    expect(await stack.accountRow(account.id)).toBeUndefined();
  });

  test("another user's notify_url token cannot take over an account, and the callback must carry the signed name", async () => {
    await stack.api$('PUT', '/api/users/victim', { email: 'victim@example.test' });
    const { accountId } = await stack.connectViaWizard('victim', 'GOOGLE');
    await waitFor(async () => (await stack.accountRow(accountId))?.user_id === 'victim', 30_000, 'owned');

    // Mallory asks for her own link; what Unipile receives (notify_url, name) is all she could learn.
    const link = await stack.api$('POST', '/api/users/mallory/connect-link', { providers: ['GOOGLE'] });
    expect(link.status).toBe(201);
    const sent = stack.sim.calls.filter((c) => c.path === '/api/v1/hosted/accounts/link').pop()!.body as {
      notify_url: string;
      name: string;
    };
    const callback = (body: object) =>
      fetch(sent.notify_url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const noName = await callback({ status: 'CREATION_SUCCESS', account_id: accountId });
    expect(noName.status).toBe(400);
    expect((await noName.json()).error.message).toContain('name');
    const takeover = await callback({ status: 'RECONNECTED', account_id: accountId, name: sent.name });
    expect(takeover.status).toBe(409);
    const badId = await callback({ status: 'CREATION_SUCCESS', account_id: '../webhooks', name: sent.name });
    expect(badId.status).toBe(400);

    const detail = await stack.api$('GET', `/api/accounts/${accountId}`);
    expect(detail.json.userId).toBe('victim');
    expect((await stack.api$('GET', '/api/users/mallory/accounts')).json.items).toEqual([]);
  });

  test('a notify_url is bound to its link: one account only, and a reconnect link only its own account', async () => {
    await stack.api$('PUT', '/api/users/once', { email: 'once@example.test' });
    const lastLink = () =>
      stack.sim.calls.filter((c) => c.path === '/api/v1/hosted/accounts/link').pop()!.body as {
        notify_url: string;
        name: string;
      };
    const { accountId } = await stack.connectViaWizard('once', 'GOOGLE');
    const used = lastLink();
    await waitFor(async () => (await stack.accountRow(accountId))?.user_id === 'once', 30_000, 'owned');
    const callback = (url: string, body: object) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    // Unipile retrying the callback it already made is answered as before.
    const retried = await callback(used.notify_url, {
      status: 'CREATION_SUCCESS',
      account_id: accountId,
      name: used.name,
    });
    expect(retried.status).toBe(200);
    // The same link naming another account (one nobody owns yet) is spent.
    const stray = stack.sim.createAccount({ type: 'GOOGLE_OAUTH' });
    const reused = await callback(used.notify_url, {
      status: 'CREATION_SUCCESS',
      account_id: stray.id,
      name: used.name,
    });
    expect(reused.status).toBe(409);
    expect((await reused.json()).error.code).toBe('link_used');

    // A reconnect link can only reconnect the account it was made for.
    expect((await stack.api$('POST', `/api/accounts/${accountId}/reconnect-link`)).status).toBe(201);
    const reconnect = lastLink();
    const elsewhere = await callback(reconnect.notify_url, {
      status: 'RECONNECTED',
      account_id: stray.id,
      name: reconnect.name,
    });
    expect(elsewhere.status).toBe(403);
    expect((await stack.api$('GET', `/api/accounts/${stray.id}`)).status).toBe(404);
    const own = await callback(reconnect.notify_url, {
      status: 'RECONNECTED',
      account_id: accountId,
      name: reconnect.name,
    });
    expect(own.status).toBe(200);
  });
  test('a create link cannot claim an unowned account that existed before the link; one first seen after it, it can', async () => {
    const lastLink = () =>
      stack.sim.calls.filter((c) => c.path === '/api/v1/hosted/accounts/link').pop()!.body as {
        notify_url: string;
        name: string;
      };
    const callback = (url: string, body: object) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // Accounts of the workspace that no user connected through us: Unipile reports them, and the row has no owner.
    const unownedRow = async () => {
      const account = stack.sim.createAccount({ type: 'GOOGLE_OAUTH' });
      expect((await stack.postWebhook(account.id, 'OK', 'GOOGLE_OAUTH')).status).toBe(200);
      await waitFor(async () => !!(await stack.accountRow(account.id)), 30_000, 'the unowned row');
      expect((await stack.accountRow(account.id)).user_id).toBeNull();
      return account.id;
    };
    const before = await unownedRow();
    await stack.api$('PUT', '/api/users/claimer', { email: 'claimer@example.test' });
    expect((await stack.api$('POST', '/api/users/claimer/connect-link', { providers: ['GOOGLE'] })).status).toBe(201);
    const link = lastLink();

    const claim = await callback(link.notify_url, { status: 'CREATION_SUCCESS', account_id: before, name: link.name });
    expect(claim.status).toBe(409);
    expect((await claim.json()).error.code).toBe('account_owned');
    expect((await stack.accountRow(before)).user_id).toBeNull();
    expect((await stack.api$('GET', '/api/users/claimer/accounts')).json.items).toEqual([]);

    // An account owned by another user is refused as before.
    await stack.api$('PUT', '/api/users/first-owner', { email: 'first-owner@example.test' });
    const { accountId: owned } = await stack.connectViaWizard('first-owner', 'GOOGLE');
    await waitFor(async () => (await stack.accountRow(owned))?.user_id === 'first-owner', 30_000, 'owned');
    const taken = await callback(link.notify_url, { status: 'CREATION_SUCCESS', account_id: owned, name: link.name });
    expect(taken.status).toBe(409);
    expect((await stack.accountRow(owned)).user_id).toBe('first-owner');

    // Unipile's status webhook may come before the callback: a row first seen after the link is the link's account.
    const after = await unownedRow();
    const own = await callback(link.notify_url, { status: 'CREATION_SUCCESS', account_id: after, name: link.name });
    expect(own.status).toBe(200);
    await waitFor(async () => (await stack.accountRow(after))?.user_id === 'claimer', 30_000, 'claimed');
    expect((await stack.accountRow(before)).user_id).toBeNull();
  });
  test('two users calling back for one account at once: one owns it, the other gets 409; the workflow follows the row', async () => {
    const links: { notify_url: string; name: string }[] = [];
    for (const user of ['race-a', 'race-b']) {
      await stack.api$('PUT', `/api/users/${user}`, { email: `${user}@example.test` });
      expect((await stack.api$('POST', `/api/users/${user}/connect-link`, { providers: ['GOOGLE'] })).status).toBe(201);
      links.push(
        stack.sim.calls.filter((c) => c.path === '/api/v1/hosted/accounts/link').pop()!.body as {
          notify_url: string;
          name: string;
        },
      );
    }
    const account = stack.sim.createAccount({ type: 'GOOGLE_OAUTH' }); // made after both links
    const answers = await Promise.all(
      links.map((link) =>
        fetch(link.notify_url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ status: 'CREATION_SUCCESS', account_id: account.id, name: link.name }),
        }).then(async (r) => ({ status: r.status, code: r.status === 200 ? null : (await r.json()).error.code })),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 409]);
    expect(answers.find((a) => a.status === 409)!.code).toBe('account_owned');
    const winner = ['race-a', 'race-b'][answers.findIndex((a) => a.status === 200)];
    await waitFor(async () => (await stack.accountRow(account.id))?.user_id === winner, 30_000, 'the owner');
    // What a client reads: the account is listed for its owner only, and its workflow names the same user.
    await waitFor(
      async () => (await stack.api$('GET', `/api/accounts/${account.id}`)).json.workflow?.userId === winner,
      30_000,
      'the workflow linked to the owner',
    );
    const loser = winner === 'race-a' ? 'race-b' : 'race-a';
    expect((await stack.api$('GET', `/api/users/${loser}/accounts`)).json.items).toEqual([]);
  });

  test('a create link cannot claim an account Unipile created before the link, even one we first hear of after it', async () => {
    await stack.api$('PUT', '/api/users/late', { email: 'late@example.test' });
    const old = stack.sim.createAccount({ type: 'GOOGLE_OAUTH' });
    // Connected at Unipile an hour ago, outside this service; we hear of it only after the link is made.
    stack.sim.accounts.get(old.id)!.created_at = new Date(Date.now() - 3_600_000).toISOString();
    expect((await stack.api$('POST', '/api/users/late/connect-link', { providers: ['GOOGLE'] })).status).toBe(201);
    const link = stack.sim.calls.filter((c) => c.path === '/api/v1/hosted/accounts/link').pop()!.body as {
      notify_url: string;
      name: string;
    };
    expect((await stack.postWebhook(old.id, 'OK', 'GOOGLE_OAUTH')).status).toBe(200);
    await waitFor(async () => !!(await stack.accountRow(old.id)), 30_000, 'the unowned row');
    const claim = await fetch(link.notify_url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'CREATION_SUCCESS', account_id: old.id, name: link.name }),
    });
    expect({ status: claim.status, code: (await claim.json()).error?.code }).toEqual({
      status: 409,
      code: 'account_owned',
    });
    expect((await stack.accountRow(old.id)).user_id).toBeNull();
  });
});
