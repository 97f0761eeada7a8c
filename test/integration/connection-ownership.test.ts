import {
  LINKEDIN_CONNECT_WORKFLOW_TYPE,
  linkedinConnectWorkflowId,
  type LinkedinConnectWorkflowFn,
} from '../../src/workflows/linkedin-connect/contract';
import { maybeRecordHistory } from '../helpers/histories';
import { cookieBody, Stack, waitFor } from '../helpers/stack';

// An account belongs to the user who connected it first: every path that finishes a connection (custom auth, a
// custom-auth reconnect in place, a cookie connection from the extension, a checkpoint solved) refuses an account
// id Unipile answers for a login another user has connected (one login is one Unipile account), with 409
// account_owned as hosted auth does, and leaves the account, its row and its workflow's user as they were.
describe('connections never move an account to another user', () => {
  const stack = new Stack({
    env: { CHECKPOINT_TIMEOUT: '4s', CONNECTION_POLL_INTERVAL: '300ms', CONNECT_RETRY_INTERVAL: '1h' },
  });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const connect = (userId: string, body: Record<string, unknown>) =>
    stack.api$('POST', `/api/users/${userId}/accounts`, body);
  const accountsOf = async (userId: string) =>
    ((await stack.api$('GET', `/api/users/${userId}/accounts`)).json.items as { accountId: string }[]).map(
      (a) => a.accountId,
    );
  /** The owner as the backend reads it (the row) and as the account's workflow holds it (a live query). */
  const owners = async (accountId: string) => {
    const stored = (await stack.api$('GET', `/api/accounts/${accountId}`)).json.userId;
    const live = (await stack.api$('GET', `/api/accounts/${accountId}?live=true`)).json.workflow?.userId;
    return { stored, live };
  };
  /** Receipts that would link the account to a user (forwarded or waiting). */
  const linkReceipts = async (accountId: string) => {
    const all = [
      ...(await stack.api$('GET', '/api/receipts?state=forwarded&limit=500')).json.items,
      ...(await stack.api$('GET', '/api/receipts?state=pending&limit=500')).json.items,
    ] as { source: string; accountId: string }[];
    return all.filter(
      (r) => r.accountId === accountId && ['custom_auth', 'cookie_connection', 'hosted_auth'].includes(r.source),
    ).length;
  };
  /** With RECORD_HISTORIES=1: the user's (only) connection's history, as a replay fixture. */
  const record = async (userId: string, name: string) => {
    const row = await stack.db('connections').where({ user_id: userId }).orderBy('created_at', 'desc').first();
    maybeRecordHistory(stack.config.TEMPORAL_ADDRESS, `connection-${row.id}`, name);
  };
  const ownedAccount = async (userId: string, body: Record<string, unknown>) => {
    const res = await connect(userId, body);
    expect(res.json.step).toMatchObject({ type: 'connected' });
    const accountId: string = res.json.step.accountId;
    await waitFor(async () => (await owners(accountId)).live === userId, 20_000, `${accountId} linked to ${userId}`);
    return accountId;
  };

  test('custom auth: a second user connecting the same login gets 409 account_owned; nothing moves', async () => {
    const login = { provider: 'LINKEDIN', username: 'shared@example.test', password: 'li-pw-own-1' };
    const accountId = await ownedAccount('own-a', login);
    const links = await linkReceipts(accountId);

    const second = await connect('own-b', { ...login, password: 'li-pw-own-2' });
    expect({ status: second.status, code: second.json?.error?.code }).toEqual({ status: 409, code: 'account_owned' });
    // The same login did reach Unipile, which answered with the existing account (the case being refused).
    expect(stack.connectCalls().at(-1)!.body).toMatchObject({ username: 'shared@example.test' });
    expect(await accountsOf('own-b')).toEqual([]);
    expect(await accountsOf('own-a')).toContain(accountId);
    expect(await owners(accountId)).toEqual({ stored: 'own-a', live: 'own-a' });
    expect(await linkReceipts(accountId)).toBe(links);
    await record('own-b', 'connection-account-owned');
  });

  test('custom-auth reconnect in place answered with another user’s account: 409, both accounts keep owners', async () => {
    const mine = await ownedAccount('own-c', {
      provider: 'INSTAGRAM',
      username: 'mine@example.test',
      password: 'ig-pw-c',
    });
    const theirs = await ownedAccount('own-d', {
      provider: 'INSTAGRAM',
      username: 'theirs@example.test',
      password: 'ig-pw-d',
    });
    const links = await linkReceipts(theirs);
    // own-c's account reconnected with the login of own-d's: Unipile answers with own-d's account.
    const re = await stack.api$('POST', `/api/accounts/${mine}/reconnect`, {
      provider: 'INSTAGRAM',
      username: 'theirs@example.test',
      password: 'ig-pw-x',
    });
    expect({ status: re.status, code: re.json?.error?.code }).toEqual({ status: 409, code: 'account_owned' });
    expect(await owners(theirs)).toEqual({ stored: 'own-d', live: 'own-d' });
    expect(await owners(mine)).toEqual({ stored: 'own-c', live: 'own-c' });
    expect(await accountsOf('own-c')).toEqual([mine]);
    expect(await linkReceipts(theirs)).toBe(links);
  });

  test('custom auth, checkpoint solved: the answer that lands on another user’s account is 409', async () => {
    const login = { provider: 'TWITTER', username: 'tw-shared@example.test', password: 'tw-pw-e' };
    const accountId = await ownedAccount('own-e', login);
    const links = await linkReceipts(accountId);
    stack.script('connect', [{ result: 'checkpoint', checkpointType: '2FA', code: '2fa-own-5150' }]);
    const started = await connect('own-f', { ...login, password: 'tw-pw-f' });
    expect(started.json.step).toMatchObject({ type: 'checkpoint', checkpoint: '2FA' });
    const solved = await stack.api$('POST', `/api/connections/${started.json.connectionId}/steps`, {
      code: '2fa-own-5150',
    });
    expect({ status: solved.status, code: solved.json?.error?.code }).toEqual({ status: 409, code: 'account_owned' });
    const read = await stack.api$('GET', `/api/connections/${started.json.connectionId}`);
    expect(read.json.step).toEqual({ type: 'failed', error: 'account_owned' });
    expect(await owners(accountId)).toEqual({ stored: 'own-e', live: 'own-e' });
    expect(await accountsOf('own-f')).toEqual([]);
    expect(await linkReceipts(accountId)).toBe(links);
    await record('own-f', 'connection-checkpoint-account-owned');
  });

  test('cookie connection from the extension: another user’s member account is refused, then 409 on sync', async () => {
    const { accountId } = await stack.linkedinAccount('own-g', 'member-shared', 'AQEDAshared-member-cookie');
    const links = await linkReceipts(accountId);
    await stack.api$('PUT', '/api/users/own-h', { email: 'own-h@example.test' });
    const token = await stack.extensionToken('own-h');
    const first = await stack.postCookies(token, cookieBody('AQEDAshared-member-cookie', 'member-shared'));
    expect(first.status).toBe(202);
    // Where the user's connection stands, as the backend lists it.
    let listed: any;
    await waitFor(
      async () => {
        listed = (await stack.api$('GET', '/api/users/own-h/connections')).json.items[0];
        return listed?.step === 'FAILED';
      },
      20_000,
      'the cookie connection failed',
    );
    expect(listed).toMatchObject({ method: 'cookies', lastError: 'account_owned' });
    const again = await stack.postCookies(token, cookieBody('AQEDAshared-member-cookie', 'member-shared'));
    expect({ status: again.status, code: again.json?.error?.code }).toEqual({ status: 409, code: 'account_owned' });
    expect(await owners(accountId)).toEqual({ stored: 'own-g', live: 'own-g' });
    expect(await accountsOf('own-h')).toEqual([]);
    expect(await linkReceipts(accountId)).toBe(links);
  });

  test('a cookie connection run by the earlier workflow type (still registered for old runs) refuses it too', async () => {
    const { accountId } = await stack.linkedinAccount('own-l', 'member-shared-3', 'AQEDAshared-member-three');
    const links = await linkReceipts(accountId);
    // own-m's session for the same member, refused by today's connection first (as above).
    const token = await stack.extensionToken('own-m');
    await stack.postCookies(token, cookieBody('AQEDAshared-member-three', 'member-shared-3'));
    await waitFor(
      async () => (await stack.session('own-m', 'member-shared-3'))?.last_error === 'account_owned',
      20_000,
      'today’s connection refused',
    );
    const session = await stack.session('own-m', 'member-shared-3');
    // The earlier workflow type, as a run started by the previous version would go on: same activities.
    const result = await stack.client.workflow.execute<LinkedinConnectWorkflowFn>(LINKEDIN_CONNECT_WORKFLOW_TYPE, {
      workflowId: linkedinConnectWorkflowId('own-m', 'member-shared-3'),
      taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      args: [{ sessionId: String(session.id), userId: 'own-m', checkpointTimeoutMs: 4000 }],
    });
    expect(result).toEqual({ phase: 'failed', errorType: 'account_owned' });
    expect(await stack.session('own-m', 'member-shared-3')).toMatchObject({
      account_id: null,
      last_error: 'account_owned',
    });
    expect(await owners(accountId)).toEqual({ stored: 'own-l', live: 'own-l' });
    expect(await accountsOf('own-m')).toEqual([]);
    expect(await linkReceipts(accountId)).toBe(links);
  });

  test('cookie connection, checkpoint solved through /accounts/:id/checkpoint: 409 account_owned', async () => {
    const { accountId } = await stack.linkedinAccount('own-i', 'member-shared-2', 'AQEDAshared-member-two');
    const links = await linkReceipts(accountId);
    const token = await stack.extensionToken('own-j');
    stack.script('connect', [{ result: 'checkpoint', checkpointType: 'OTP', code: 'OTP-own-6161' }]);
    await stack.postCookies(token, cookieBody('AQEDAshared-member-two', 'member-shared-2'));
    let checkpoint: any;
    await waitFor(
      async () => {
        checkpoint = (await stack.api$('GET', '/api/users/own-j/connections')).json.items[0]?.checkpoint;
        return !!checkpoint;
      },
      20_000,
      'the checkpoint listed',
    );
    const solved = await stack.api$('POST', `/api/accounts/${checkpoint.accountId}/checkpoint`, {
      code: 'OTP-own-6161',
    });
    expect({ status: solved.status, code: solved.json?.error?.code }).toEqual({ status: 409, code: 'account_owned' });
    expect(await owners(accountId)).toEqual({ stored: 'own-i', live: 'own-i' });
    expect(await accountsOf('own-j')).toEqual([]);
    expect(await linkReceipts(accountId)).toBe(links);
  });

  test('the same user connecting its own login again is no conflict', async () => {
    const login = { provider: 'MESSENGER', username: 'twice@example.test', password: 'fb-pw-1' };
    const accountId = await ownedAccount('own-k', login);
    const again = await connect('own-k', { ...login, password: 'fb-pw-2' });
    expect(again.json.step).toEqual({ type: 'connected', accountId });
    expect(await owners(accountId)).toEqual({ stored: 'own-k', live: 'own-k' });
  });
});
