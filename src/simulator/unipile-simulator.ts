// A local stand-in for Unipile's v1 API, faithful to ../shared/unipile-api.md: same paths, X-API-KEY, bodies,
// status codes, error bodies and webhook deliveries. Tests and `npm run dev` talk to it over HTTP; control
// endpoints under /_sim let a test script outcomes and emit status webhooks.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { escapeHtml } from '../html';
import { close, listen } from '../http-listen';
import { customAuthRoutes, type Intent } from './custom-auth';
import type { Outcome } from './scripting';

export type { Outcome } from './scripting';

export interface SimAccount {
  object: 'Account';
  id: string;
  type: string;
  name: string;
  created_at: string;
  groups: string[];
  connection_params: Record<string, unknown>;
  sources: { id: string; status: string }[];
}

interface SimWebhook {
  object: 'Webhook';
  id: string;
  type: 'AUTO';
  source: string;
  name?: string;
  request_url: string;
  format: 'json' | 'form';
  enabled: boolean;
  headers: { key: string; value: string }[];
  account_ids: { id: string }[];
  events: string[];
  data: unknown[];
}

interface HostedLink {
  token: string;
  type: 'create' | 'reconnect';
  providers: string[] | string;
  reconnect_account?: string;
  expiresOn: string;
  name?: string;
  notify_url?: string;
  success_redirect_url?: string;
  failure_redirect_url?: string;
}

export interface RecordedCall {
  method: string;
  path: string;
  body: unknown;
  at: string;
}

export interface Delivery {
  webhookId: string;
  url: string;
  body: unknown;
  attempts: { status: number | null; at: string }[];
  delivered: boolean;
}

export interface SimulatorOptions {
  apiKey: string;
  port?: number;
  host?: string;
  /** Base delay between webhook retries; Unipile's schedule is undocumented (incremental). */
  webhookRetryDelayMs?: number;
  /** Keeps accounts and webhooks across restarts (npm run dev). */
  stateFile?: string;
  /** A waiting WhatsApp/Telegram QR code is replaced by a new one when read this long after it was issued. */
  qrRotateMs?: number;
}

const MS_ISO = /^[1-2]\d{3}-[0-1]\d-[0-3]\dT\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const PROVIDER_TYPES: Record<string, string> = {
  LINKEDIN: 'LINKEDIN',
  WHATSAPP: 'WHATSAPP',
  INSTAGRAM: 'INSTAGRAM',
  MESSENGER: 'MESSENGER',
  TELEGRAM: 'TELEGRAM',
  GOOGLE: 'GOOGLE_OAUTH',
  OUTLOOK: 'OUTLOOK',
  MAIL: 'MAIL',
  IMAP: 'MAIL',
  TWITTER: 'TWITTER',
};
const STATUS_MESSAGES = new Set(['OK', 'CREDENTIALS', 'PERMISSIONS', 'ERROR', 'STOPPED', 'CONNECTING']);

const newId = (): string => randomBytes(16).toString('base64url').slice(0, 22);
const nowIso = (): string => new Date().toISOString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorBody(status: number, type: string, title: string, detail?: string) {
  return { status, type: `errors/${type}`, title, ...(detail ? { detail } : {}) };
}

export class UnipileSimulator {
  readonly accounts = new Map<string, SimAccount>();
  readonly webhooks = new Map<string, SimWebhook>();
  readonly links = new Map<string, HostedLink>();
  readonly calls: RecordedCall[] = [];
  readonly deliveries: Delivery[] = [];
  private readonly scripts = new Map<string, Outcome[]>();
  private readonly defaults = new Map<string, Outcome>();
  /** Open authentication intents waiting for a checkpoint code, by account id. */
  readonly intents = new Map<string, Intent>();
  private server?: Server;
  private readonly pending = new Set<Promise<void>>();
  private stopping = false;
  url = '';

  constructor(private readonly options: SimulatorOptions) {}

  private load(): void {
    const file = this.options.stateFile;
    if (!file || !existsSync(file)) return;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { accounts: SimAccount[]; webhooks: SimWebhook[] };
    for (const a of saved.accounts) this.accounts.set(a.id, a);
    for (const w of saved.webhooks) this.webhooks.set(w.id, w);
  }

  private save(): void {
    const file = this.options.stateFile;
    if (!file) return;
    const state = { accounts: [...this.accounts.values()], webhooks: [...this.webhooks.values()] };
    writeFileSync(file, JSON.stringify(state, null, 2));
  }

  async start(): Promise<string> {
    this.load();
    const { server, url } = await listen(this.app(), this.options.port ?? 0, this.options.host);
    this.server = server;
    this.url = url;
    return url;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.save();
    await Promise.allSettled([...this.pending]);
    if (this.server) await close(this.server);
  }

  reset(): void {
    for (const map of [this.accounts, this.webhooks, this.links, this.scripts, this.intents, this.defaults])
      map.clear();
    this.calls.length = 0;
    this.deliveries.length = 0;
  }

  /** Queues outcomes for the next calls of an operation (optionally for one account only). */
  script(operation: string, outcomes: Outcome[], accountId?: string): void {
    const key = accountId ? `${operation}:${accountId}` : operation;
    this.scripts.set(key, [...(this.scripts.get(key) ?? []), ...outcomes]);
  }

  /** Sets the answer an operation gives once its script is used up (default: succeed), e.g. "always refuse". */
  setDefault(operation: string, outcome: Outcome): void {
    this.defaults.set(operation, outcome);
  }

  nextOutcome(operation: string, accountId?: string): Outcome {
    for (const key of accountId ? [`${operation}:${accountId}`, operation] : [operation]) {
      const queue = this.scripts.get(key);
      if (queue && queue.length > 0) return queue.shift()!;
    }
    return this.defaults.get(operation) ?? { result: 'succeed' };
  }

  /** Applies a scripted delay and, for http_error, answers with the error body. Returns true when answered. */
  async applyOutcome(outcome: Outcome, res: Response): Promise<boolean> {
    if (outcome.delayMs) await sleep(outcome.delayMs);
    if (outcome.result !== 'http_error') return false;
    const status = outcome.status ?? 500;
    const type = outcome.type ?? (status === 429 ? 'too_many_requests' : 'unexpected_error');
    res.status(status).json(errorBody(status, type.replace(/^errors\//, ''), 'Scripted error'));
    return true;
  }

  /** Unipile's error body (unipile-api.md §6). */
  errorBody(status: number, type: string, title: string, detail?: string) {
    return errorBody(status, type, title, detail);
  }

  createAccount(input: { type: string; name?: string; id?: string; status?: string }): SimAccount {
    const id = input.id ?? newId();
    const account: SimAccount = {
      object: 'Account',
      id,
      type: input.type,
      name: input.name ?? `${input.type.toLowerCase()} user`,
      created_at: nowIso(),
      groups: [],
      connection_params: {},
      sources: [{ id: `${id}_MESSAGING`, status: input.status ?? 'OK' }],
    };
    this.accounts.set(id, account);
    return account;
  }

  private setStatus(accountId: string, status: string): void {
    const account = this.accounts.get(accountId);
    if (account) account.sources = account.sources.map((s) => ({ ...s, status }));
  }

  /** Sends an account_status webhook to every matching registered webhook, retrying as Unipile does. */
  emitStatus(accountId: string, message: string, accountType?: string): void {
    const type = accountType ?? this.accounts.get(accountId)?.type ?? 'LINKEDIN';
    if (STATUS_MESSAGES.has(message)) this.setStatus(accountId, message);
    if (message === 'DELETED') this.accounts.delete(accountId);
    const body = { AccountStatus: { account_id: accountId, message, account_type: type } };
    for (const hook of this.webhooks.values()) {
      if (!hook.enabled || hook.source !== 'account_status') continue;
      if (hook.account_ids.length > 0 && !hook.account_ids.some((a) => a.id === accountId)) continue;
      this.track(this.deliver(hook, body));
    }
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async deliver(hook: SimWebhook, body: unknown): Promise<void> {
    const delivery: Delivery = { webhookId: hook.id, url: hook.request_url, body, attempts: [], delivered: false };
    this.deliveries.push(delivery);
    const headers = Object.fromEntries(hook.headers.map((h) => [h.key, h.value]));
    const retryDelay = this.options.webhookRetryDelayMs ?? 1000;
    // The first try and five retries with increasing delay; anything but 200 counts as a failure.
    for (let attempt = 0; attempt <= 5 && !this.stopping; attempt++) {
      if (attempt > 0) await sleep(retryDelay * attempt);
      let status: number | null = null;
      try {
        const res = await fetch(hook.request_url, {
          method: 'POST',
          headers,
          body: hook.format === 'form' ? new URLSearchParams({ data: JSON.stringify(body) }) : JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = null;
      }
      delivery.attempts.push({ status, at: nowIso() });
      if (status === 200) {
        delivery.delivered = true;
        return;
      }
    }
  }

  private async notify(link: HostedLink, status: string, accountId: string): Promise<void> {
    if (!link.notify_url) return;
    try {
      // Sent without the webhooks' custom headers, as Unipile does.
      const res = await fetch(link.notify_url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ status, account_id: accountId, name: link.name }),
        signal: AbortSignal.timeout(30_000),
      });
      await res.arrayBuffer();
    } catch {
      // Unipile documents no retry for notify_url.
    }
  }

  private app(): express.Express {
    const app = express();
    app.use(express.json({ limit: '1mb' }));
    app.use(express.urlencoded({ extended: false }));

    app.use('/api/v1', (req: Request, res: Response, next: NextFunction) => {
      this.calls.push({
        method: req.method,
        path: req.originalUrl.split('?')[0]!,
        body: req.body ?? null,
        at: nowIso(),
      });
      if (req.header('x-api-key') !== this.options.apiKey) {
        res.status(401).json(errorBody(401, 'missing_credentials', 'Missing credentials'));
        return;
      }
      next();
    });

    // Custom authentication for every provider; LinkedIn cookies fall through to the handlers below.
    customAuthRoutes(this, app, this.options.qrRotateMs ?? 30_000);

    app.post('/api/v1/hosted/accounts/link', async (req, res) => {
      if (await this.applyOutcome(this.nextOutcome('hosted_link'), res)) return;
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
      if (b.type === 'reconnect' && !this.accounts.has(b.reconnect_account as string)) {
        res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
        return;
      }
      const token = randomBytes(18).toString('base64url');
      this.links.set(token, { ...(b as unknown as HostedLink), token });
      res.status(201).json({ object: 'HostedAuthUrl', url: `${this.url}/hosted/${token}` });
    });

    app.get('/api/v1/accounts', async (req, res) => {
      if (await this.applyOutcome(this.nextOutcome('list_accounts'), res)) return;
      const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 250);
      const start = Number(req.query.cursor ?? 0) || 0;
      const all = [...this.accounts.values()];
      const items = all.slice(start, start + limit);
      const cursor = start + limit < all.length ? String(start + limit) : null;
      res.json({ object: 'AccountList', items, cursor });
    });

    app.get('/api/v1/accounts/:id', (req, res) => {
      const account = this.accounts.get(req.params.id);
      if (!account) res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
      else res.json(account);
    });

    app.post('/api/v1/accounts/:id/restart', async (req, res) => {
      const account = this.accounts.get(req.params.id);
      if (!account) {
        res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
        return;
      }
      const outcome = this.nextOutcome('restart', account.id);
      if (await this.applyOutcome(outcome, res)) return;
      if (outcome.result === 'fail') {
        res.status(200).json({ object: 'AccountFailedToRestart', account_id: account.id });
        return;
      }
      const wasOk = account.sources.every((s) => s.status === 'OK');
      res.status(200).json({ object: 'AccountRestarted', account_id: account.id });
      if (!wasOk) this.emitStatus(account.id, 'OK');
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
      const outcome = this.nextOutcome(operation, operation === 'reconnect' ? accountId : undefined);
      if (await this.applyOutcome(outcome, res)) return;
      if (outcome.result === 'fail') {
        res.status(401).json(errorBody(401, 'invalid_credentials', 'Invalid credentials'));
        return;
      }
      if (outcome.result === 'checkpoint') {
        const type = outcome.checkpointType ?? '2FA';
        this.intents.set(accountId, {
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
        this.createAccount({ type: 'LINKEDIN', id: accountId, name: 'LinkedIn user' });
        res.status(201).json({ object: 'AccountCreated', account_id: accountId });
        this.emitStatus(accountId, 'CREATION_SUCCESS', 'LINKEDIN');
      } else {
        const wasOk = this.accounts.get(accountId)?.sources.every((s) => s.status === 'OK');
        res.status(201).json({ object: 'AccountReconnected', account_id: accountId });
        if (!wasOk) this.emitStatus(accountId, 'RECONNECTED', 'LINKEDIN');
      }
    };

    app.post('/api/v1/accounts', async (req, res) => {
      await cookieAuth('connect', newId(), (req.body ?? {}) as Record<string, unknown>, res);
    });

    app.post('/api/v1/accounts/:id', async (req, res) => {
      if (!this.accounts.has(req.params.id)) {
        res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
        return;
      }
      await cookieAuth('reconnect', req.params.id, (req.body ?? {}) as Record<string, unknown>, res);
    });

    app.delete('/api/v1/accounts/:id', (req, res) => {
      const account = this.accounts.get(req.params.id);
      if (!account) {
        res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
        return;
      }
      res.status(200).json({ object: 'AccountDeleted' });
      this.emitStatus(account.id, 'DELETED', account.type);
    });

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
      this.webhooks.set(id, {
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
      res.json({ object: 'WebhookList', items: [...this.webhooks.values()], cursor: null });
    });

    app.delete('/api/v1/webhooks/:id', (req, res) => {
      if (!this.webhooks.delete(req.params.id)) {
        res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
      } else res.json({ object: 'WebhookDeleted' });
    });

    app.use('/api/v1', (_req, res) => {
      res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
    });

    // The hosted-auth wizard, reduced to one "Connect" button.
    app.get('/hosted/:token', (req, res) => {
      const link = this.usableLink(req.params.token);
      if (!link) {
        res.status(410).type('html').send('<h1>This link has expired</h1>');
        return;
      }
      const providers = Array.isArray(link.providers) ? link.providers : Object.keys(PROVIDER_TYPES);
      const reconnecting = link.type === 'reconnect' ? this.accounts.get(link.reconnect_account!) : undefined;
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
      const link = this.usableLink(req.params.token);
      if (!link) {
        res.status(410).type('html').send('<h1>This link has expired</h1>');
        return;
      }
      this.links.delete(link.token);
      const form = (req.body ?? {}) as { provider?: string; name?: string };
      let account: SimAccount;
      let status: string;
      if (link.type === 'reconnect') {
        account = this.accounts.get(link.reconnect_account!)!;
        status = 'RECONNECTED';
      } else {
        const provider =
          form.provider ?? (Array.isArray(link.providers) ? link.providers[0] : 'LINKEDIN') ?? 'LINKEDIN';
        account = this.createAccount({ type: PROVIDER_TYPES[provider] ?? provider, name: form.name, status: 'OK' });
        status = 'CREATION_SUCCESS';
      }
      this.setStatus(account.id, 'OK');
      await this.notify(link, status, account.id);
      this.emitStatus(account.id, status, account.type);
      if (link.success_redirect_url) res.redirect(302, link.success_redirect_url);
      else res.type('html').send(`<h1>Account connected</h1><p>${escapeHtml(account.id)}</p>`);
    });

    // Control endpoints for tests and development.
    app.post('/_sim/reset', (_req, res) => {
      this.reset();
      res.json({ ok: true });
    });
    app.post('/_sim/accounts', (req, res) => {
      const b = (req.body ?? {}) as { type?: string; name?: string; id?: string; status?: string };
      res
        .status(201)
        .json(this.createAccount({ type: b.type ?? 'LINKEDIN', name: b.name, id: b.id, status: b.status }));
    });
    app.post('/_sim/accounts/:id/status', (req, res) => {
      const message = (req.body as { message?: string } | undefined)?.message;
      if (!message) {
        res.status(400).json({ error: 'message is required' });
        return;
      }
      this.emitStatus(req.params.id, message, (req.body as { account_type?: string }).account_type);
      res.json({ ok: true });
    });
    app.post('/_sim/script', (req, res) => {
      const b = (req.body ?? {}) as { operation?: string; accountId?: string; outcomes?: Outcome[] };
      if (!b.operation || !Array.isArray(b.outcomes)) {
        res.status(400).json({ error: 'operation and outcomes are required' });
        return;
      }
      this.script(b.operation, b.outcomes, b.accountId);
      res.json({ ok: true });
    });
    app.post('/_sim/defaults', (req, res) => {
      const b = (req.body ?? {}) as { operation?: string; outcome?: Outcome };
      if (!b.operation || !b.outcome?.result) {
        res.status(400).json({ error: 'operation and outcome.result are required' });
        return;
      }
      this.setDefault(b.operation, b.outcome);
      res.json({ ok: true });
    });
    app.get('/_sim/calls', (_req, res) => void res.json(this.calls));
    app.get('/_sim/deliveries', (_req, res) => void res.json(this.deliveries));
    return app;
  }

  private usableLink(token: string): HostedLink | undefined {
    const link = this.links.get(token);
    if (!link || Date.parse(link.expiresOn) < Date.now()) return undefined;
    return link;
  }
}
