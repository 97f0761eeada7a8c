// Every route the API serves, by audience, in the order they are mounted. /openapi.json describes exactly these.
import { z } from 'zod';
import { accountRoutes } from './backend/routes';
import { connectionRoutes } from './backend/connection-routes';
import { pauseRoutes } from './backend/pause-routes';
import { extensionTokenRoutes } from './backend/extension-tokens';
import { receiptRoutes } from './backend/receipts';
import { extensionRoutes } from './extension/routes';
import { openApiDocument } from './http/openapi';
import { defineRoute, type Route } from './http/route';
import { operationRoutes } from './operations/routes';
import { reconcileRoutes } from './operations/reconcile-routes';
import { providerRoutes } from './providers/routes';
import { pageRoutes } from './pages/routes';
import { webhookRoutes } from './webhooks/routes';

const openApiAnswer = z.object({ openapi: z.literal('3.1.0'), paths: z.record(z.unknown()) }).passthrough();
type OpenApiAnswer = z.input<typeof openApiAnswer>;
let document: object | undefined;

const openApi = defineRoute({
  method: 'get',
  path: '/openapi.json',
  audience: 'operations',
  auth: 'none',
  summary: 'This document',
  responses: { 200: openApiAnswer },
  errors: [],
  // Built once per process, from the same list that is mounted.
  handler: async () => ({ status: 200, body: (document ??= openApiDocument(ALL_ROUTES)) as OpenApiAnswer }),
});

/** Public probes and this document: served before anything parses a body. */
export const OPERATION_ROUTES: Route[] = [...operationRoutes, openApi];
/** Unipile's calls: they read their own bodies (as text), so they come before the JSON parser. */
export const WEBHOOK_ROUTES: Route[] = webhookRoutes;
/** JSON routes for the backend and the extension, then the pages. */
export const API_ROUTES: Route[] = [
  ...accountRoutes,
  ...pauseRoutes,
  ...receiptRoutes,
  ...extensionTokenRoutes,
  ...connectionRoutes,
  ...reconcileRoutes,
  ...providerRoutes,
  ...extensionRoutes,
  ...pageRoutes,
];

export const ALL_ROUTES: Route[] = [...OPERATION_ROUTES, ...WEBHOOK_ROUTES, ...API_ROUTES];
