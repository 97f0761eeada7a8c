// Operators' side of reconciliation: confirming the deletions a run held back. Behind the backend's bearer token.
import { z } from 'zod';
import { confirmHold } from '../../reconcile/holds';
import { defineRoute, type Route } from '../http/route';

export const reconcileConfirmBody = z
  .strictObject({ holdId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional() })
  .optional();

const confirmedAnswer = z.strictObject({
  holdId: z.number().int(),
  reason: z.string(),
  accounts: z.number().int(),
  workflowId: z.string(),
});

const confirm = defineRoute({
  method: 'post',
  path: '/api/reconcile/confirm',
  audience: 'backend',
  auth: 'backendToken',
  summary:
    'Confirm the deletions a reconciliation run held (the newest hold, or `holdId`): each held account is deleted on Unipile’s second 404, at least RECONCILE_GRACE after its first (202 {holdId, reason, accounts, workflowId}; a confirmed hold whose workflow stopped is taken up again; 404 when nothing is held; 409 hold_not_confirmable for a listing from another workspace: fix UNIPILE_API_KEY)',
  body: reconcileConfirmBody,
  responses: { 202: confirmedAnswer },
  // No hold (404), a hold not to confirm (409), Temporal unreachable (503): DomainErrors from confirmHold.
  errors: [404, 409, 503],
  async handler({ body }, { deps }) {
    const confirmed = await confirmHold(
      { db: deps.db, temporal: deps.temporal, taskQueue: deps.config.TEMPORAL_TASK_QUEUE },
      body?.holdId,
    );
    return { status: 202, body: confirmed };
  },
});

export const reconcileRoutes: Route[] = [confirm];
