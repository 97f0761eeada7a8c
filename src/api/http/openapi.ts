// The OpenAPI 3.1 description of the HTTP surface, generated from the route descriptors that are mounted: the same
// zod schemas validate each request and describe it, and each answer's schema is checked against real answers in
// test/integration/openapi.test.ts.
import { OpenAPIRegistry, OpenApiGeneratorV31, extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { SECURITY } from './auth';
import { errorBody } from './errors';
import { openApiPath, type ResponseSpec, type Route } from './route';

extendZodWithOpenApi(z);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The input is invalid; the message names each field',
  401: 'Missing or wrong credentials',
  403: 'The credentials do not allow this',
  404: 'Not found',
  409: 'The state refuses this request; the code says why',
  410: 'Expired',
  413: 'The body is too large',
  415: 'The body is not JSON',
  422: 'Well-formed but refused (a wrong code)',
  429: 'Too many requests; see Retry-After',
  502: 'Unipile refused the request',
  503: 'A dependency is unavailable; retry later (Retry-After when known)',
};

function content(spec: ResponseSpec) {
  if (spec === null) return undefined;
  if (spec === 'html') return { 'text/html': { schema: z.string() } };
  if (spec === 'text') return { 'text/plain': { schema: z.string() } };
  return { 'application/json': { schema: spec } };
}

/** Every status the route answers: its own answers, then the refusals with the error body. */
function responsesOf(route: Route) {
  const responses: Record<string, { description: string; content?: ReturnType<typeof content> }> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    const body = content(spec);
    responses[status] = {
      description: Number(status) < 400 ? route.summary : (ERROR_DESCRIPTIONS[Number(status)] ?? 'Refused'),
      ...(body ? { content: body } : {}),
    };
  }
  const errors = new Set(route.errors);
  // Pages check their signed link first: a request that would fail a schema is refused before, as a page.
  if ((route.params || route.query || route.body) && route.audience !== 'pages') errors.add(400);
  if (route.auth !== 'none') errors.add(401);
  // Answered by the body parsers before the route (src/api/app.ts): too large, and, for JSON routes, not JSON.
  if (route.body) errors.add(413);
  if (route.body && !route.rawJsonBody) errors.add(415);
  for (const status of [...errors].sort((a, b) => a - b)) {
    if (responses[status]) continue;
    responses[status] = {
      description: ERROR_DESCRIPTIONS[status] ?? 'Refused',
      content: { 'application/json': { schema: errorBody } },
    };
  }
  return responses;
}

/** The OpenAPI 3.1 document of these routes. */
export function openApiDocument(routes: readonly Route[]): object {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'backendToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'API_TOKEN',
  });
  registry.registerComponent('securitySchemes', 'extensionToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'A per-user extension token',
  });
  registry.registerComponent('securitySchemes', 'unipileAuth', { type: 'apiKey', in: 'header', name: 'Unipile-Auth' });
  for (const r of routes) {
    const security = SECURITY[r.auth];
    registry.registerPath({
      method: r.method,
      path: openApiPath(r.path),
      tags: [r.audience],
      summary: r.summary,
      ...(security.length ? { security: security.map((name) => ({ [name]: [] })) } : {}),
      request: {
        ...(r.params ? { params: r.params } : {}),
        ...(r.query ? { query: r.query } : {}),
        ...(r.body ? { body: { content: { 'application/json': { schema: r.body } } } } : {}),
      },
      responses: responsesOf(r),
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'unipile-account-keeper',
      version: '1',
      description: 'Keeps Unipile accounts connected; see README.md and docs/HTTP-API.md',
    },
  });
}
