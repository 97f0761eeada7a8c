// Probes and figures for operators and load balancers: public by design (the metrics may take a token).
import { z } from 'zod';
import { secretEquals } from '../../platform/tokens';
import type { ApiDeps } from '../http/deps';
import { sendError } from '../http/errors';
import { defineRoute, type Route } from '../http/route';
import { cachedRead, withTimeout } from './metrics';

const READY_TIMEOUT_MS = 3000;

const readinessAnswer = z.strictObject({
  ready: z.boolean(),
  postgres: z.enum(['ok', 'unreachable']),
  temporal: z.enum(['ok', 'unreachable']),
});
type Readiness = z.infer<typeof readinessAnswer>;

const healthz = defineRoute({
  method: 'get',
  path: '/healthz',
  audience: 'operations',
  auth: 'none',
  summary: 'The process is up',
  responses: { 200: z.strictObject({ ok: z.literal(true) }) },
  errors: [],
  handler: async () => ({ status: 200, body: { ok: true } as const }),
});

/** Anyone may probe readiness (load balancers do, anonymously): the checks run at most once per OPS_CACHE_TTL. */
const readiness = new WeakMap<ApiDeps, () => Promise<Readiness>>();
function readinessOf(deps: ApiDeps): () => Promise<Readiness> {
  let read = readiness.get(deps);
  if (!read) {
    read = cachedRead(deps.config.OPS_CACHE_TTL, async () => {
      const checks = await Promise.allSettled([
        withTimeout(deps.db.raw('select 1'), READY_TIMEOUT_MS),
        withTimeout(deps.temporal.connection.workflowService.getSystemInfo({}), READY_TIMEOUT_MS),
      ]);
      const [postgres, temporal] = checks.map((c) =>
        c.status === 'fulfilled' ? ('ok' as const) : ('unreachable' as const),
      );
      return { ready: postgres === 'ok' && temporal === 'ok', postgres: postgres!, temporal: temporal! };
    });
    readiness.set(deps, read);
  }
  return read;
}

const readyz = defineRoute({
  method: 'get',
  path: '/readyz',
  audience: 'operations',
  auth: 'none',
  summary: 'PostgreSQL and Temporal reachable',
  responses: { 200: readinessAnswer, 503: readinessAnswer },
  errors: [],
  async handler(_input, { deps }) {
    const state = await readinessOf(deps)();
    return state.ready ? { status: 200, body: state } : { status: 503, body: state };
  },
});

const metrics = defineRoute({
  method: 'get',
  path: '/metrics',
  audience: 'operations',
  auth: 'none',
  summary: 'Prometheus metrics',
  responses: { 200: 'text' },
  errors: [401],
  async handler(_input, { deps, req, res }) {
    // With METRICS_TOKEN set, only the scraper that holds it reads the figures.
    const token = deps.config.METRICS_TOKEN;
    const header = req.header('authorization') ?? '';
    if (token && !(header.startsWith('Bearer ') && secretEquals(header.slice(7), token))) {
      return sendError(res, 401, 'unauthorized', 'Send Authorization: Bearer <METRICS_TOKEN>');
    }
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  },
});

/** Probes and metrics; the OpenAPI document is served beside them (src/api/routes.ts). */
export const operationRoutes: Route[] = [healthz, readyz, metrics];
