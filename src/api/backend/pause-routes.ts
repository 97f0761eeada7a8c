// Pausing an account from the product: no attempt and no email until its end or a resume. The account workflow
// holds the pause (a durable timer for `until`), so it survives restarts and shows wherever the state does.
import { pauseAccountUpdate, resumeAccountUpdate } from '../../workflows/account/contract';
import { HttpError } from '../http/errors';
import { defineRoute, type Route } from '../http/route';
import { accountOr404 } from './routes';
import { accountParams, pauseAnswer, pauseBody } from './schemas';
import { updateAccountWorkflow, type UpdateErrors } from './workflow-updates';

const errors = (what: string): UpdateErrors => ({
  notPossible: `The account cannot be ${what} now`,
  // No running workflow (the account is not watched): retrying will not help.
  notFound: new HttpError(409, 'not_watched', 'The account has no running workflow'),
});

const pause = defineRoute({
  method: 'post',
  path: '/api/accounts/:accountId/pause',
  audience: 'backend',
  auth: 'backendToken',
  summary:
    'Pause an account: no recovery attempt and no email until `until` (ISO 8601, in the future) or a resume; events are still recorded. Pausing a paused account changes its end and reason',
  params: accountParams,
  body: pauseBody,
  responses: { 200: pauseAnswer },
  errors: [404, 409, 429, 503],
  async handler({ params, body }, { deps }) {
    const row = await accountOr404(deps.db, params.accountId);
    if (row.status === 'DELETED') throw new HttpError(409, 'deleted', 'The account is deleted');
    const until = body.until ? new Date(body.until).toISOString() : null;
    if (until && Date.parse(until) <= Date.now()) {
      throw new HttpError(400, 'invalid_request', 'until must be in the future');
    }
    const request = { until, reason: body.reason };
    const view = await updateAccountWorkflow(deps, row.account_id, errors('paused'), (h) =>
      h.executeUpdate(pauseAccountUpdate, { args: [request] }),
    );
    return { status: 200, body: { accountId: row.account_id, workflow: view } };
  },
});

const resume = defineRoute({
  method: 'post',
  path: '/api/accounts/:accountId/resume',
  audience: 'backend',
  auth: 'backendToken',
  summary:
    'Resume a paused account: it is judged by its current status at once (a due attempt runs now). Resuming an account that is not paused changes nothing',
  params: accountParams,
  responses: { 200: pauseAnswer },
  errors: [404, 409, 429, 503],
  async handler({ params }, { deps }) {
    const row = await accountOr404(deps.db, params.accountId);
    if (row.status === 'DELETED') throw new HttpError(409, 'deleted', 'The account is deleted');
    // Not paused as the workflow last persisted it: nothing to change, and no update (a history event) to spend.
    if (row.view && !row.view.paused) return { status: 200, body: { accountId: row.account_id, workflow: row.view } };
    // Queued behind another request for the account: what that one stored may already answer this one.
    const notPaused = async () => {
      const now = await accountOr404(deps.db, params.accountId);
      return now.view && !now.view.paused ? now.view : undefined;
    };
    const view = await updateAccountWorkflow(
      deps,
      row.account_id,
      errors('resumed'),
      (h) => h.executeUpdate(resumeAccountUpdate),
      notPaused,
    );
    return { status: 200, body: { accountId: row.account_id, workflow: view } };
  },
});

export const pauseRoutes: Route[] = [pause, resume];
