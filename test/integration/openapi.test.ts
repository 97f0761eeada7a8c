import { createApp } from '../../src/api/app';
import type { ApiDeps } from '../../src/api/http/deps';
import { expressRoutes } from '../helpers/routes';
import { Stack } from '../helpers/stack';

// /openapi.json is built from the schemas that validate requests; every route Express serves must be in it.
describe('OpenAPI', () => {
  const stack = new Stack({ workers: false });
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
  });
});
