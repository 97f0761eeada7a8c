// Webhooks CRUD in the simulator, as Unipile's API has them.
import type { Express } from 'express';
import { errorBody, newId, type SimWebhook, type SimulatorCore } from './sim-state';

export function webhookRoutes(sim: SimulatorCore, app: Express): void {
  app.post('/api/v1/webhooks', (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const sources = ['messaging', 'email', 'email_tracking', 'account_status', 'users', 'calendar_event'];
    if (typeof b.request_url !== 'string' || !/^https?:\/\//.test(b.request_url)) {
      res.status(400).json(errorBody(400, 'invalid_parameters', 'Invalid parameters', 'request_url is required'));
      return;
    }
    if (typeof b.source !== 'string' || !sources.includes(b.source)) {
      res.status(400).json(errorBody(400, 'invalid_parameters', 'Invalid parameters', 'source is invalid'));
      return;
    }
    const id = newId();
    sim.webhooks.set(id, {
      object: 'Webhook',
      id,
      type: 'AUTO',
      source: b.source,
      name: typeof b.name === 'string' ? b.name : undefined,
      request_url: b.request_url,
      format: b.format === 'form' ? 'form' : 'json',
      enabled: b.enabled !== false,
      headers: Array.isArray(b.headers) ? (b.headers as SimWebhook['headers']) : [],
      account_ids: Array.isArray(b.account_ids) ? (b.account_ids as string[]).map((a) => ({ id: a })) : [],
      events: Array.isArray(b.events) ? (b.events as string[]) : [],
      data: [],
    });
    res.status(201).json({ object: 'WebhookCreated', webhook_id: id });
  });

  app.get('/api/v1/webhooks', (_req, res) => {
    res.json({ object: 'WebhookList', items: [...sim.webhooks.values()], cursor: null });
  });

  app.delete('/api/v1/webhooks/:id', (req, res) => {
    if (!sim.webhooks.delete(req.params.id)) {
      res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
    } else res.json({ object: 'WebhookDeleted' });
  });
}
