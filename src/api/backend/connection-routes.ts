import { Router } from 'express';
import { z } from 'zod';
import { connectionBody, stepBody } from '../../connections/input';
import { answerStep, readConnection, startConnection } from '../../connections/custom-auth';
import { parse, userIdParam } from './routes';
import type { ApiDeps } from '../http/deps';

export const connectionParams = z.object({
  connectionId: z.string().regex(/^conn_[A-Za-z0-9_-]{22}$/, 'must be a connection id (conn_…)'),
});

/** Custom authentication for every provider (SPEC §10.4), for the backend: mounted behind its bearer token. */
export function connectionRoutes(deps: ApiDeps): Router {
  const router = Router();

  router.post('/api/users/:userId/accounts', async (req, res) => {
    const userId = userIdParam(req.params);
    const body = parse(connectionBody, req.body);
    res.status(202).json(await startConnection(deps, { userId, body }));
  });

  router.get('/api/connections/:connectionId', async (req, res) => {
    const { connectionId } = parse(connectionParams, req.params);
    res.json(await readConnection(deps, connectionId));
  });

  router.post('/api/connections/:connectionId/steps', async (req, res) => {
    const { connectionId } = parse(connectionParams, req.params);
    const body = parse(stepBody, req.body);
    res.status(200).json(await answerStep(deps, connectionId, body));
  });

  return router;
}
