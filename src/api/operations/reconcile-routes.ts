// Operators' side of reconciliation (SPEC §11.1): confirming the deletions a run held back. Behind the backend's
// bearer token (mounted after backendRoutes, whose guard covers every /api path).
import { Router } from 'express';
import { z } from 'zod';
import { ConfirmUnavailableError, confirmHold, HoldNotConfirmableError, NoHoldError } from '../../reconcile/holds';
import type { ApiDeps } from '../http/deps';
import { HttpError } from '../http/errors';
import { parse } from '../backend/routes';

export const reconcileConfirmBody = z
  .strictObject({ holdId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional() })
  .optional();

export function reconcileRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/api/reconcile/confirm', async (req, res) => {
    const body = parse(reconcileConfirmBody, req.body) ?? {};
    try {
      const confirmed = await confirmHold(
        { db: deps.db, temporal: deps.temporal, taskQueue: deps.config.TEMPORAL_TASK_QUEUE },
        body.holdId,
      );
      res.status(202).json(confirmed);
    } catch (err) {
      if (err instanceof NoHoldError) throw new HttpError(404, 'not_found', err.message);
      if (err instanceof HoldNotConfirmableError) throw new HttpError(409, 'hold_not_confirmable', err.message);
      if (err instanceof ConfirmUnavailableError) {
        throw new HttpError(503, 'unavailable', 'Temporal could not be reached; retry later', 30);
      }
      throw err;
    }
  });
  return router;
}
