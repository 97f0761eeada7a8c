import type { ZodTypeAny } from 'zod';
import { createApp } from '../../src/api/app';
import type { ApiDeps } from '../../src/api/http/deps';
import { openApiPath, type Route } from '../../src/api/http/route';
import { ALL_ROUTES } from '../../src/api/routes';
import { signToken } from '../../src/platform/tokens';
import { expressRoutes } from '../helpers/routes';
import { cookieBody, Stack, waitFor } from '../helpers/stack';

// /openapi.json is generated from the route descriptors that are mounted, with the schemas that validate requests
// and describe answers. Checked here: every route Express serves is documented (and nothing else), and every JSON
// route's documented answer is what it really sends, by calling each one on its success path.
describe('OpenAPI', () => {
  const stack = new Stack({ env: { CHECKPOINT_TIMEOUT: '60s', CONNECTION_POLL_INTERVAL: '300ms' } });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  test('GET /openapi.json is OpenAPI 3.1 and lists every route with its method, audience and security', async () => {
    const res = await fetch(`${stack.api.url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { tags: string[]; security?: object[]; parameters?: { name: string }[] }>>;
      components: { securitySchemes: Record<string, object> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'backendToken',
      'extensionToken',
      'unipileAuth',
    ]);

    const routes = expressRoutes(createApp({ config: stack.config, db: stack.db } as unknown as ApiDeps));
    const missing = routes
      .map((r) => ({ method: r.method, path: r.path.replace(/:(\w+)/g, '{$1}') }))
      .filter((r) => !doc.paths[r.path]?.[r.method])
      .map((r) => `${r.method.toUpperCase()} ${r.path}`);
    expect(missing).toEqual([]);
    // And nothing documented that is not served.
    const served = new Set(routes.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`));
    const extra = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => !served.has(`${m} ${path}`))
        .map((m) => `${m} ${path}`),
    );
    expect(extra).toEqual([]);

    // Request schemas come from the validators: the cookie body names its fields, the account id its pattern.
    const cookie = doc.paths['/api/extension/linkedin-cookies']!.post as any;
    const schema = cookie.requestBody.content['application/json'].schema;
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['li_at', 'user_agent', 'linkedin_member_id']),
    );
    const account = doc.paths['/api/accounts/{accountId}']!.get as any;
    expect(JSON.stringify(account.parameters)).toContain('A-Za-z0-9_-');
    expect(account.security).toEqual([{ backendToken: [] }]);
    expect(cookie.tags).toEqual(['extension']);
    // Answers are documented with their schema, refusals with the error body.
    const answer = account.responses['200'].content['application/json'].schema;
    expect(Object.keys(answer.properties)).toEqual(expect.arrayContaining(['accountId', 'status', 'workflow']));
    expect(Object.keys(account.responses)).toEqual(expect.arrayContaining(['400', '401', '404']));
    expect(account.responses['404'].content['application/json'].schema.properties).toHaveProperty('error');
  });

  test('every JSON route answers, on its success path, exactly what its descriptor documents', async () => {
    const routeOf = (method: string, path: string): Route => {
      const route = ALL_ROUTES.find((r) => r.method === method && r.path === path);
      if (!route) throw new Error(`no descriptor for ${method} ${path}`);
      return route;
    };
    const checked = new Map<Route, number[]>();
    const problems: string[] = [];
    /** Calls the route (pattern `path`, concrete `url`), expects a documented success and checks the body. */
    const call = async (
      method: 'get' | 'post' | 'put' | 'delete',
      path: string,
      url: string,
      body?: unknown,
      headers?: Record<string, string>,
    ) => {
      const route = routeOf(method, path);
      const res = await stack.api$(method.toUpperCase(), url, body, headers);
      const spec = route.responses[res.status];
      if (res.status >= 300 || spec === undefined) {
        throw new Error(`${method.toUpperCase()} ${url} answered ${res.status} (undocumented success): ${res.text}`);
      }
      if (spec !== null && typeof spec === 'object') {
        const parsed = (spec as ZodTypeAny).safeParse(res.json);
        if (!parsed.success) problems.push(`${method.toUpperCase()} ${path} ${res.status}: ${parsed.error.message}`);
      }
      checked.set(route, [...(checked.get(route) ?? []), res.status]);
      return res;
    };

    // Operations.
    await call('get', '/healthz', '/healthz');
    await call('get', '/readyz', '/readyz');
    await call('get', '/openapi.json', '/openapi.json');

    // A user, links, an account connected through the wizard (its hosted-auth callback comes from the simulator).
    const userId = 'doc-user';
    await call('put', '/api/users/:userId', `/api/users/${userId}`, { email: 'doc@example.test', name: 'Doc' });
    await call('post', '/api/users/:userId/connect-link', `/api/users/${userId}/connect-link`, {});
    const accountId = await stack.connectedAccount({ userId, provider: 'WHATSAPP', email: null });
    const accountUrl = `/api/accounts/${accountId}`;
    await call('post', '/api/accounts/:accountId/reconnect-link', `${accountUrl}/reconnect-link`, {});
    await call('get', '/api/users/:userId/accounts', `/api/users/${userId}/accounts`);
    await call('get', '/api/accounts/:accountId', accountUrl);
    await call('get', '/api/accounts/:accountId', `${accountUrl}?live=true`);
    await call('get', '/api/accounts/:accountId/events', `${accountUrl}/events?limit=2`);
    await call('get', '/api/accounts/:accountId/health', `${accountUrl}/health`);
    await call('get', '/api/accounts/:accountId/health', `${accountUrl}/health?fresh=true`);
    await call('post', '/api/accounts/:accountId/reconnect', `${accountUrl}/reconnect`);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await call('post', '/api/accounts/:accountId/pause', `${accountUrl}/pause`, { until, reason: 'doc' });
    await call('post', '/api/accounts/:accountId/resume', `${accountUrl}/resume`);
    await call(
      'post',
      '/webhooks/unipile/account-status',
      '/webhooks/unipile/account-status',
      {
        AccountStatus: { account_id: accountId, account_type: 'WHATSAPP', message: 'OK' },
      },
      { 'unipile-auth': stack.config.UNIPILE_WEBHOOK_SECRET },
    );

    // The hosted-auth callback, as Unipile sends it for a link of ours.
    const secret = stack.config.SIGNING_SECRET;
    const calledBack = stack.sim.createAccount({ type: 'TELEGRAM', name: 'Doc on Telegram' });
    await stack.db('hosted_links').insert({
      link_id: 'doc-link',
      user_id: userId,
      kind: 'create',
      expires_at: new Date(Date.now() + 3_600_000),
    });
    await call(
      'post',
      '/webhooks/unipile/hosted-auth',
      `/webhooks/unipile/hosted-auth?token=${signToken(secret, 'hosted-auth', 'doc-link', 3_600_000)}`,
      { status: 'CREATION_SUCCESS', account_id: calledBack.id, name: signToken(secret, 'user', userId, 3_600_000) },
    );

    // Custom authentication with a checkpoint: started, listed, read, answered; then a reconnection in place.
    stack.script('connect', [{ result: 'checkpoint', checkpointType: '2FA', code: 'doc-2fa-code' }]);
    const started = await call('post', '/api/users/:userId/accounts', `/api/users/${userId}/accounts`, {
      provider: 'LINKEDIN',
      username: 'doc@example.test',
      password: 'doc-password',
    });
    const connectionUrl = `/api/connections/${started.json.connectionId}`;
    await call('get', '/api/users/:userId/connections', `/api/users/${userId}/connections`);
    await call('get', '/api/connections/:connectionId', connectionUrl);
    const answered = await call('post', '/api/connections/:connectionId/steps', `${connectionUrl}/steps`, {
      code: 'doc-2fa-code',
    });
    const linkedinId: string = answered.json.step.accountId;
    await waitFor(async () => (await stack.accountRow(linkedinId))?.status === 'OK', 30_000, 'LinkedIn OK');
    await call('post', '/api/accounts/:accountId/reconnect', `/api/accounts/${linkedinId}/reconnect`, {
      provider: 'LINKEDIN',
      username: 'doc@example.test',
      password: 'doc-password-2',
    });

    // The extension: a token, cookies that start a connection with a checkpoint, the code, cookies of the account.
    const extensionUser = 'doc-ext';
    const token = (
      await call('post', '/api/users/:userId/extension-token', `/api/users/${extensionUser}/extension-token`)
    ).json.token as string;
    await call('get', '/api/users/:userId/extension-tokens', `/api/users/${extensionUser}/extension-tokens`);
    stack.script('connect', [{ result: 'checkpoint', checkpointType: 'OTP', code: 'OTP-doc-1' }]);
    const cookies = cookieBody('AQEDAdoc-cookie-value', 'doc-member');
    const bearer = { authorization: `Bearer ${token}` };
    await call('post', '/api/extension/linkedin-cookies', '/api/extension/linkedin-cookies', cookies, bearer);
    let waiting: string | undefined;
    await waitFor(
      async () => {
        const listed = await call('get', '/api/users/:userId/connections', `/api/users/${extensionUser}/connections`);
        waiting = listed.json.items[0]?.checkpoint?.accountId;
        return waiting !== undefined;
      },
      30_000,
      'checkpoint listed',
    );
    await call('post', '/api/extension/linkedin-cookies', '/api/extension/linkedin-cookies', cookies, bearer);
    const checkpointUrl = `/api/accounts/${waiting}/checkpoint`;
    await call('post', '/api/accounts/:accountId/checkpoint', checkpointUrl, { code: 'OTP-doc-1' }, bearer);
    await waitFor(async () => !!(await stack.session(extensionUser, 'doc-member'))?.account_id, 30_000, 'linked');
    await call('post', '/api/extension/linkedin-cookies', '/api/extension/linkedin-cookies', cookies, bearer);

    // Receipts: a dead one replayed (202), and one overtaken by a newer applied status (200, stale).
    const staleId = await stack.parkDeadReceipt(accountId, 'CREDENTIALS');
    await stack.db('webhook_receipts').insert({
      source: 'account_status',
      account_id: accountId,
      message: 'OK',
      payload: JSON.stringify({ AccountStatus: { account_id: accountId, account_type: 'WHATSAPP', message: 'OK' } }),
      state: 'forwarded',
      outcome: 'signalled',
      forwarded_at: new Date(),
    });
    const deadId = await stack.parkDeadReceipt(accountId, 'CREDENTIALS');
    await call('get', '/api/receipts', '/api/receipts?state=dead');
    await call('get', '/api/receipts', '/api/receipts?state=forwarded&limit=1');
    await call('post', '/api/receipts/:receiptId/replay', `/api/receipts/${staleId}/replay`);
    await call('post', '/api/receipts/:receiptId/replay', `/api/receipts/${deadId}/replay`);

    // A reconciliation hold an operator confirms.
    await stack.db('reconcile_holds').insert({
      run_id: 'doc-run',
      reason: 'too_many',
      account_ids: JSON.stringify([]),
      count: 0,
      max_deletions: 1,
    });
    await call('post', '/api/reconcile/confirm', '/api/reconcile/confirm', {});

    // Provider incidents: an operator opens one by hand, reads it, closes it.
    await call('post', '/api/providers/:provider/incident', '/api/providers/DOC_PROVIDER/incident', { action: 'open' });
    await call('get', '/api/providers', '/api/providers');
    await call('post', '/api/providers/:provider/incident', '/api/providers/DOC_PROVIDER/incident', {
      action: 'close',
    });

    // Revoking extension tokens, one then all; deleting an account.
    const tokens = await call(
      'get',
      '/api/users/:userId/extension-tokens',
      `/api/users/${extensionUser}/extension-tokens`,
    );
    const tokenId = tokens.json.items[0].tokenId as string;
    await call(
      'delete',
      '/api/users/:userId/extension-tokens/:tokenId',
      `/api/users/${extensionUser}/extension-tokens/${tokenId}`,
    );
    await call('delete', '/api/users/:userId/extension-tokens', `/api/users/${extensionUser}/extension-tokens`);
    await call('delete', '/api/accounts/:accountId', accountUrl);

    expect(problems).toEqual([]);
    // Every route documented with a JSON answer was called on a success path.
    const jsonRoutes = ALL_ROUTES.filter((r) =>
      Object.values(r.responses).some((s) => s !== null && typeof s === 'object'),
    );
    const unchecked = jsonRoutes
      .filter((r) => !(checked.get(r) ?? []).some((status) => status < 300))
      .map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`);
    expect(unchecked).toEqual([]);

    // The schemas are strict: a renamed or a missing field is caught.
    const accountSchema = routeOf('get', '/api/accounts/:accountId').responses[200] as ZodTypeAny;
    const real = (await stack.api$('GET', `/api/accounts/${linkedinId}`)).json;
    expect(accountSchema.safeParse(real).success).toBe(true);
    const { status, ...missingStatus } = real;
    expect(accountSchema.safeParse(missingStatus).success).toBe(false);
    expect(accountSchema.safeParse({ ...missingStatus, state: status }).success).toBe(false);
  });
});
