// Accounts in the simulator: list, read, restart, LinkedIn cookie connect/reconnect, delete.
import type { Express, Response } from 'express';
import { errorBody, newId, refusal, type SimulatorCore } from './sim-state';

export function accountRoutes(sim: SimulatorCore, app: Express): void {
  app.get('/api/v1/accounts', async (req, res) => {
    const outcome = sim.nextOutcome('list_accounts');
    if (await sim.applyOutcome(outcome, res)) return;
    if (outcome.items) {
      res.json({ object: 'AccountList', items: outcome.items, cursor: null });
      return;
    }
    const asked = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 250);
    const limit = Math.min(asked, outcome.pageSize ?? asked);
    // An opaque keyset cursor (the last id listed), as Unipile's: deleting an account between two pages never
    // shifts the next page (an offset would skip a live account).
    const after = typeof req.query.cursor === 'string' ? Buffer.from(req.query.cursor, 'base64url').toString() : '';
    const all = [...sim.accounts.values()]
      .filter((a) => a.id > after)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const items = all.slice(0, limit);
    const more = all.length > limit && !outcome.lastPage;
    const cursor = more ? Buffer.from(items[items.length - 1]!.id).toString('base64url') : null;
    res.json({ object: 'AccountList', items, cursor });
    if (outcome.deleteAfter) sim.accounts.delete(outcome.deleteAfter);
  });

  app.get('/api/v1/accounts/:id', async (req, res) => {
    if (await sim.applyOutcome(sim.nextOutcome('get_account', req.params.id), res)) return;
    const account = sim.accounts.get(req.params.id);
    if (!account) res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
    else res.json(account);
  });

  app.post('/api/v1/accounts/:id/restart', async (req, res) => {
    const account = sim.accounts.get(req.params.id);
    if (!account) {
      res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
      return;
    }
    const refused = refusal(sim, 'restart', account.id);
    if (refused) {
      res.status(403).json(refused);
      return;
    }
    const outcome = sim.nextOutcome('restart', account.id);
    if (await sim.applyOutcome(outcome, res)) return;
    if (outcome.result === 'fail') {
      res.status(200).json({ object: 'AccountFailedToRestart', account_id: account.id });
      return;
    }
    const wasOk = account.sources.every((s) => s.status === 'OK');
    res.status(200).json({ object: 'AccountRestarted', account_id: account.id });
    if (!wasOk) sim.emitStatus(account.id, 'OK');
  });

  const cookieProblems = (b: Record<string, unknown>): string[] => {
    const problems: string[] = [];
    if (b.provider !== 'LINKEDIN') problems.push('provider must be LINKEDIN');
    if (typeof b.access_token !== 'string' || !b.access_token) problems.push('access_token is required');
    if (b.country !== undefined && (typeof b.country !== 'string' || b.country.length !== 2)) {
      problems.push('country must be 2 letters');
    }
    return problems;
  };

  /** Answers a connect or reconnect by cookies according to the script; returns the account id on success. */
  const cookieAuth = async (
    operation: 'connect' | 'reconnect',
    accountId: string,
    b: Record<string, unknown>,
    res: Response,
  ): Promise<void> => {
    const problems = cookieProblems(b);
    if (problems.length > 0) {
      res.status(400).json(errorBody(400, 'invalid_parameters', 'Invalid parameters', problems.join('; ')));
      return;
    }
    const refused = operation === 'reconnect' ? refusal(sim, 'cookie_reconnect', accountId) : undefined;
    if (refused) {
      res.status(403).json(refused);
      return;
    }
    const outcome = sim.nextOutcome(operation, operation === 'reconnect' ? accountId : undefined);
    if (await sim.applyOutcome(outcome, res)) return;
    if (outcome.result === 'fail') {
      res.status(401).json(errorBody(401, 'invalid_credentials', 'Invalid credentials'));
      return;
    }
    if (outcome.result === 'checkpoint') {
      const type = outcome.checkpointType ?? '2FA';
      sim.intents.set(accountId, {
        accountId,
        kind: operation === 'connect' ? 'create' : 'reconnect',
        accountType: 'LINKEDIN',
        name: 'LinkedIn user',
        checkpointType: type,
        code: outcome.code ?? '123456',
        source: outcome.source,
        chain: [...(outcome.then ?? [])],
        alternative: outcome.alternative,
      });
      res.status(201).json({ object: 'Checkpoint', account_id: accountId, checkpoint: { type } });
      return;
    }
    if (operation === 'connect') {
      sim.createAccount({ type: 'LINKEDIN', id: accountId, name: 'LinkedIn user' });
      res.status(201).json({ object: 'AccountCreated', account_id: accountId });
      sim.emitStatus(accountId, 'CREATION_SUCCESS', 'LINKEDIN');
    } else {
      const wasOk = sim.accounts.get(accountId)?.sources.every((s) => s.status === 'OK');
      res.status(201).json({ object: 'AccountReconnected', account_id: accountId });
      if (!wasOk) sim.emitStatus(accountId, 'RECONNECTED', 'LINKEDIN');
    }
  };

  app.post('/api/v1/accounts', async (req, res) => {
    await cookieAuth('connect', newId(), (req.body ?? {}) as Record<string, unknown>, res);
  });

  app.post('/api/v1/accounts/:id', async (req, res) => {
    if (!sim.accounts.has(req.params.id)) {
      res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
      return;
    }
    await cookieAuth('reconnect', req.params.id, (req.body ?? {}) as Record<string, unknown>, res);
  });

  app.delete('/api/v1/accounts/:id', (req, res) => {
    const account = sim.accounts.get(req.params.id);
    if (!account) {
      res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
      return;
    }
    res.status(200).json({ object: 'AccountDeleted' });
    sim.emitStatus(account.id, 'DELETED', account.type);
  });
}
