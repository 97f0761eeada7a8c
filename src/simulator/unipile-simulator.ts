// A local stand-in for Unipile's v1 API, faithful to Unipile's API reference: same paths, X-API-KEY, bodies,
// status codes, error bodies and webhook deliveries. Tests and `npm run dev` talk to it over HTTP; control
// endpoints under /_sim let a test script outcomes and emit status webhooks. This class holds the state and
// composes the route modules: accounts, custom authentication, hosted auth, webhooks, control.
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { close, listen } from '../platform/http-listen';
import { accountRoutes } from './account-routes';
import { controlRoutes } from './control-routes';
import { customAuthRoutes } from './custom-auth';
import { hostedAuthRoutes } from './hosted-auth-routes';
import { incidentRoutes } from './incident-routes';
import type { Outcome } from './scripting';
import {
  errorBody,
  loadState,
  newId,
  nowIso,
  saveState,
  sleep,
  STATUS_MESSAGES,
  type Delivery,
  type HostedLink,
  type Intent,
  type RecordedCall,
  type SimAccount,
  type SimulatorCore,
  type SimulatorOptions,
  type SimWebhook,
} from './sim-state';
import { deliverWebhook } from './webhook-delivery';
import { webhookRoutes } from './webhook-routes';

export type { Outcome } from './scripting';
export type { Delivery, RecordedCall, SimAccount, SimulatorOptions } from './sim-state';

export class UnipileSimulator implements SimulatorCore {
  readonly accounts = new Map<string, SimAccount>();
  readonly webhooks = new Map<string, SimWebhook>();
  readonly links = new Map<string, HostedLink>();
  readonly calls: RecordedCall[] = [];
  readonly deliveries: Delivery[] = [];
  private readonly scripts = new Map<string, Outcome[]>();
  private readonly defaults = new Map<string, Outcome>();
  /** Open authentication intents waiting for a checkpoint code, by account id. */
  readonly intents = new Map<string, Intent>();
  readonly restricted = new Set<string>();
  readonly mismatched = new Map<string, { type: string; times: number | null }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Webhook deliveries waiting for release while held (null: not held). */
  private held: (() => void)[] | null = null;
  private server?: Server;
  private readonly pending = new Set<Promise<void>>();
  private stopping = false;
  url = '';

  constructor(readonly options: SimulatorOptions) {}

  private load(): void {
    const saved = loadState(this.options.stateFile);
    for (const a of saved.accounts) this.accounts.set(a.id, a);
    for (const w of saved.webhooks) this.webhooks.set(w.id, w);
  }

  private save(): void {
    saveState(this.options.stateFile, [...this.accounts.values()], [...this.webhooks.values()]);
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
    this.dropLater();
    this.held = null;
    this.save();
    await Promise.allSettled([...this.pending]);
    if (this.server) await close(this.server);
  }

  reset(): void {
    for (const map of [this.accounts, this.webhooks, this.links, this.scripts, this.intents, this.defaults])
      map.clear();
    this.restricted.clear();
    this.mismatched.clear();
    this.dropLater();
    this.held = null;
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

  /** Unipile's error body (status, type, title, detail). */
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

  setStatus(accountId: string, status: string): void {
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
      if (this.held) this.held.push(() => this.track(this.deliver(hook, body)));
      else this.track(this.deliver(hook, body));
    }
  }

  later(ms: number, send: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      send();
    }, ms);
    this.timers.add(timer);
  }

  private dropLater(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  holdWebhooks(held: boolean): number {
    if (held) {
      this.held ??= [];
      return this.held.length;
    }
    const waiting = this.held ?? [];
    this.held = null;
    for (const send of waiting) send();
    return waiting.length;
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async deliver(hook: SimWebhook, body: unknown): Promise<void> {
    const delivery: Delivery = { webhookId: hook.id, url: hook.request_url, body, attempts: [], delivered: false };
    this.deliveries.push(delivery);
    await deliverWebhook(hook, body, delivery, this.options.webhookRetryDelayMs ?? 1000, () => this.stopping);
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
    hostedAuthRoutes(this, app);
    accountRoutes(this, app);
    webhookRoutes(this, app);

    app.use('/api/v1', (_req, res) => {
      res.status(404).json(errorBody(404, 'resource_not_found', 'Resource not found.'));
    });
    controlRoutes(this, app);
    incidentRoutes(this, app);
    return app;
  }
}
