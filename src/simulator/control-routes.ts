// Control endpoints under /_sim for tests and development: reset, accounts, status webhooks, scripts, what was
// called and delivered.
import type { Express } from 'express';
import type { Outcome } from './scripting';
import type { SimulatorCore } from './sim-state';

export function controlRoutes(sim: SimulatorCore, app: Express): void {
  // Control endpoints for tests and development.
  app.post('/_sim/reset', (_req, res) => {
    sim.reset();
    res.json({ ok: true });
  });
  app.post('/_sim/accounts', (req, res) => {
    const b = (req.body ?? {}) as { type?: string; name?: string; id?: string; status?: string };
    res.status(201).json(sim.createAccount({ type: b.type ?? 'LINKEDIN', name: b.name, id: b.id, status: b.status }));
  });
  app.post('/_sim/accounts/:id/status', (req, res) => {
    const message = (req.body as { message?: string } | undefined)?.message;
    if (!message) {
      res.status(400).json({ error: 'message is required' });
      return;
    }
    sim.emitStatus(req.params.id, message, (req.body as { account_type?: string }).account_type);
    res.json({ ok: true });
  });
  app.post('/_sim/script', (req, res) => {
    const b = (req.body ?? {}) as { operation?: string; accountId?: string; outcomes?: Outcome[] };
    if (!b.operation || !Array.isArray(b.outcomes)) {
      res.status(400).json({ error: 'operation and outcomes are required' });
      return;
    }
    sim.script(b.operation, b.outcomes, b.accountId);
    res.json({ ok: true });
  });
  app.post('/_sim/defaults', (req, res) => {
    const b = (req.body ?? {}) as { operation?: string; outcome?: Outcome };
    if (!b.operation || !b.outcome?.result) {
      res.status(400).json({ error: 'operation and outcome.result are required' });
      return;
    }
    sim.setDefault(b.operation, b.outcome);
    res.json({ ok: true });
  });
  app.get('/_sim/calls', (_req, res) => void res.json(sim.calls));
  app.get('/_sim/deliveries', (_req, res) => void res.json(sim.deliveries));
}
