// Hosted auth in the simulator: the link API (POST /api/v1/hosted/accounts/link) and the wizard, reduced to one
// "Connect" button, that calls notify_url and sends the account_status webhook as Unipile does.
import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import { escapeHtml } from '../platform/html';
import { notifyHostedAuth } from './webhook-delivery';
import { errorBody, MS_ISO, PROVIDER_TYPES, type HostedLink, type SimAccount, type SimulatorCore } from './sim-state';

function usableLink(sim: SimulatorCore, token: string): HostedLink | undefined {
  const link = sim.links.get(token);
  if (!link || Date.parse(link.expiresOn) < Date.now()) return undefined;
  return link;
}

export function hostedAuthRoutes(sim: SimulatorCore, app: Express): void {
  app.post('/api/v1/hosted/accounts/link', async (req, res) => {
    if (await sim.applyOutcome(sim.nextOutcome('hosted_link'), res)) return;
    const b = (req.body ?? {}) as Record<string, unknown>;
    const problems: string[] = [];
    if (b.type !== 'create' && b.type !== 'reconnect') problems.push('type must be "create" or "reconnect"');
    if (b.type === 'create' && !b.providers) problems.push('providers is required for type create');
    if (b.type === 'reconnect' && (typeof b.reconnect_account !== 'string' || !b.reconnect_account)) {
      problems.push('reconnect_account is required for type reconnect');
    }
    if (typeof b.api_url !== 'string' || !b.api_url) problems.push('api_url is required');
    if (typeof b.expiresOn !== 'string' || !MS_ISO.test(b.expiresOn)) {
      problems.push('expiresOn must be an ISO 8601 UTC datetime with milliseconds');
    }
    for (const key of ['notify_url', 'success_redirect_url', 'failure_redirect_url'] as const) {
      if (b[key] !== undefined && (typeof b[key] !== 'string' || !/^https?:\/\//.test(b[key] as string))) {
        problems.push(`${key} must be an http(s) URL`);
      }
    }
    if (problems.length > 0) {
      res.status(400).json(errorBody(400, 'invalid_parameters', 'Invalid parameters', problems.join('; ')));
      return;
    }
    if (b.type === 'reconnect' && !sim.accounts.has(b.reconnect_account as string)) {
      res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
      return;
    }
    const token = randomBytes(18).toString('base64url');
    sim.links.set(token, { ...(b as unknown as HostedLink), token });
    res.status(201).json({ object: 'HostedAuthUrl', url: `${sim.url}/hosted/${token}` });
  });

  // The hosted-auth wizard, reduced to one "Connect" button.
  app.get('/hosted/:token', (req, res) => {
    const link = usableLink(sim, req.params.token);
    if (!link) {
      res.status(410).type('html').send('<h1>This link has expired</h1>');
      return;
    }
    const providers = Array.isArray(link.providers) ? link.providers : Object.keys(PROVIDER_TYPES);
    const reconnecting = link.type === 'reconnect' ? sim.accounts.get(link.reconnect_account!) : undefined;
    const choice = reconnecting
      ? `<p>Reconnect ${escapeHtml(reconnecting.type)} account <b>${escapeHtml(reconnecting.name)}</b></p>`
      : `<label>Provider <select name="provider">${providers
          .map((p) => `<option value="${escapeHtml(p)}">${escapeHtml(p)}</option>`)
          .join('')}</select></label>
           <label>Display name <input name="name" value="Simulated user"></label>`;
    res.type('html').send(`<!doctype html><html><head><title>Unipile simulator: connect an account</title></head>
<body><h1>Connect an account (Unipile simulator)</h1>
<form method="post" action="/hosted/${escapeHtml(link.token)}">${choice}
<button type="submit">Connect</button></form></body></html>`);
  });

  app.post('/hosted/:token', async (req, res) => {
    const link = usableLink(sim, req.params.token);
    if (!link) {
      res.status(410).type('html').send('<h1>This link has expired</h1>');
      return;
    }
    sim.links.delete(link.token);
    const form = (req.body ?? {}) as { provider?: string; name?: string };
    let account: SimAccount;
    let status: string;
    if (link.type === 'reconnect') {
      account = sim.accounts.get(link.reconnect_account!)!;
      status = 'RECONNECTED';
    } else {
      const provider = form.provider ?? (Array.isArray(link.providers) ? link.providers[0] : 'LINKEDIN') ?? 'LINKEDIN';
      account = sim.createAccount({ type: PROVIDER_TYPES[provider] ?? provider, name: form.name, status: 'OK' });
      status = 'CREATION_SUCCESS';
    }
    sim.setStatus(account.id, 'OK');
    await notifyHostedAuth(link, status, account.id);
    sim.emitStatus(account.id, status, account.type);
    if (link.success_redirect_url) res.redirect(302, link.success_redirect_url);
    else res.type('html').send(`<h1>Account connected</h1><p>${escapeHtml(account.id)}</p>`);
  });
}
