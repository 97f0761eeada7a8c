import { UnipileClient } from 'unipile-node-sdk';

/** A failed Unipile call, described by status and error type only (bodies may echo what we sent). */
export class UnipileCallError extends Error {
  constructor(
    readonly status: number | null,
    readonly type: string,
    readonly operation: string,
  ) {
    super(`Unipile ${operation} failed: ${status ?? 'no response'} ${type}`);
    this.name = 'UnipileCallError';
  }

  /** Network errors, timeouts, 5xx, 429 and 425 are worth retrying; other 4xx are final answers. */
  get transient(): boolean {
    return this.status === null || this.status >= 500 || [408, 425, 429].includes(this.status);
  }
}

/** A call this process's budget did not allow: nothing was sent; the same call may be made after `retryAfterMs`. */
export class UnipileBudgetError extends Error {
  constructor(
    readonly operation: string,
    readonly retryAfterMs: number,
  ) {
    super(`Unipile ${operation} not sent: this process's Unipile call budget is spent`);
    this.name = 'UnipileBudgetError';
  }
}

/**
 * A token bucket: `perSecond` calls a second, up to `burst` at once after a quiet spell (at least one). Counted in
 * this process only: N processes allow N times as many.
 */
export class CallBudget {
  private readonly capacity: number;
  private tokens: number;
  private at: number;

  constructor(
    readonly perSecond: number,
    burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = Math.max(1, burst);
    this.tokens = this.capacity;
    this.at = now();
  }

  /** Takes one call: 0 when allowed, else the milliseconds until one is. */
  take(): number {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}

export interface UnipileAccount {
  object: 'Account';
  id: string;
  type: string;
  name: string;
  created_at: string;
  sources: { id: string; status: string }[];
  /** While an intent waits (the simulator, and what we read of Unipile): its current checkpoint. */
  checkpoint?: UnipileCheckpoint;
}

export interface HostedLinkInput {
  type: 'create' | 'reconnect';
  providers?: '*' | string[];
  reconnect_account?: string;
  expiresOn: string;
  name: string;
  notify_url: string;
  success_redirect_url?: string;
  failure_redirect_url?: string;
}

const JSON_BODY = { 'Content-Type': 'application/json' } as const;

/** The SDK joins path segments as given: an id is always encoded, so it can never name another endpoint. */
const segment = (id: string): string => encodeURIComponent(id);

/**
 * The calls this service makes to Unipile, through the official SDK, with a timeout and typed errors. With a
 * budget (the API's, on users' behalf), a call past it is refused here with UnipileBudgetError, before any request;
 * the workers' calls are paced by their task queue instead.
 */
export class UnipileApi {
  private readonly sdk: UnipileClient;

  constructor(
    private readonly baseUrl: string,
    apiKey: string,
    private readonly timeoutMs: number,
    private readonly budget?: CallBudget,
  ) {
    this.sdk = new UnipileClient(baseUrl, apiKey);
  }

  private async call<T>(operation: string, fn: () => Promise<unknown>, maxWaitMs = 0): Promise<T> {
    let wait = this.budget?.take() ?? 0;
    // A caller that cannot be asked again (Unipile's notify_url) waits for its turn, for a bounded time.
    const giveUpAt = Date.now() + maxWaitMs;
    while (wait > 0 && Date.now() + wait <= giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = this.budget?.take() ?? 0;
    }
    if (wait > 0) throw new UnipileBudgetError(operation, wait);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UnipileCallError(null, 'errors/request_timeout', operation)), this.timeoutMs);
    });
    try {
      return (await Promise.race([fn(), timeout])) as T;
    } catch (err) {
      if (err instanceof UnipileCallError) throw err;
      const body = (err as { body?: { status?: unknown; type?: unknown } }).body;
      if (body && typeof body.status === 'number') {
        throw new UnipileCallError(
          body.status,
          // Unipile's error type is shown to callers: only its expected shape, cut short.
          typeof body.type === 'string' && /^[\w./-]{1,80}$/.test(body.type) ? body.type : 'errors/unknown',
          operation,
        );
      }
      throw new UnipileCallError(null, 'errors/network', operation);
    } finally {
      clearTimeout(timer);
    }
  }

  createHostedLink(input: HostedLinkInput): Promise<{ url: string }> {
    return this.call('hosted link', () =>
      this.sdk.account.createHostedAuthLink({ ...input, api_url: this.baseUrl } as never),
    );
  }

  /** The account, or null when Unipile does not know it. */
  async getAccount(accountId: string, options: { maxWaitMs?: number } = {}): Promise<UnipileAccount | null> {
    try {
      return await this.call<UnipileAccount>(
        'get account',
        () => this.sdk.account.getOne(segment(accountId)),
        options.maxWaitMs,
      );
    } catch (err) {
      if (err instanceof UnipileCallError && err.status === 404) return null;
      throw err;
    }
  }

  /** One page of every account Unipile holds for our API key; `cursor` is null on the last page. */
  async listAccounts(cursor?: string | null, limit = 100): Promise<{ items: UnipileAccount[]; cursor: string | null }> {
    const page = await this.call<{ items: UnipileAccount[]; cursor?: string | null }>('list accounts', () =>
      this.sdk.account.getAll({ limit, ...(cursor ? { cursor } : {}) }),
    );
    return { items: page.items, cursor: page.cursor ?? null };
  }

  async restartAccount(accountId: string): Promise<'restarted' | 'failed'> {
    const body = await this.call<{ object?: string }>('restart', () =>
      this.sdk.request.send({ path: ['accounts', segment(accountId), 'restart'], method: 'POST' }),
    );
    return body.object === 'AccountRestarted' ? 'restarted' : 'failed';
  }

  /** POST /api/v1/accounts with provider LINKEDIN and the extension's cookies. */
  connectLinkedin(auth: LinkedinCookieAuth): Promise<ConnectAnswer> {
    return this.call('connect', () => this.sdk.account.connectLinkedinWithCookie(auth as never));
  }

  /** POST /api/v1/accounts/{id}: reconnects an existing account with the latest cookies. */
  reconnectLinkedin(accountId: string, auth: LinkedinCookieAuth): Promise<ConnectAnswer> {
    return this.call('reconnect', () =>
      this.sdk.account.reconnectLinkedinWithCookie({ ...auth, account_id: accountId } as never),
    );
  }

  solveCheckpoint(accountId: string, code: string, provider = 'LINKEDIN'): Promise<ConnectAnswer> {
    return this.call('checkpoint', () =>
      this.sdk.account.solveCodeCheckpoint({ account_id: accountId, provider, code } as never),
    );
  }

  /**
   * POST /api/v1/accounts with any provider's body (credentials, IMAP/SMTP, or nothing for a QR code), through the
   * SDK's transport: one call for every provider, the body exactly as Unipile documents it.
   */
  connectAccount(body: CustomAuthBody): Promise<ConnectAnswer> {
    return this.call('connect', () =>
      this.sdk.request.send({ path: ['accounts'], method: 'POST', body, headers: JSON_BODY }),
    );
  }

  /** POST /api/v1/accounts/{id}: the same body, reconnecting the account in place. */
  reconnectAccount(accountId: string, body: CustomAuthBody): Promise<ConnectAnswer> {
    return this.call('reconnect', () =>
      this.sdk.request.send({ path: ['accounts', segment(accountId)], method: 'POST', body, headers: JSON_BODY }),
    );
  }

  /** POST /api/v1/accounts/checkpoint/resend: LinkedIn, Instagram and Messenger send the code again. */
  async resendCheckpoint(accountId: string, provider: string): Promise<void> {
    await this.call('resend checkpoint', () =>
      this.sdk.request.send({
        path: ['accounts', 'checkpoint', 'resend'],
        method: 'POST',
        body: { account_id: accountId, provider },
        headers: JSON_BODY,
      }),
    );
  }

  async listWebhooks(): Promise<{ id: string; source?: string; request_url: string }[]> {
    const list = await this.call<{ items: { id: string; source?: string; request_url: string }[] }>(
      'list webhooks',
      () => this.sdk.webhook.getAll(),
    );
    return list.items;
  }

  async createWebhook(input: {
    request_url: string;
    source: 'account_status';
    name: string;
    headers: { key: string; value: string }[];
  }): Promise<string> {
    const created = await this.call<{ webhook_id: string }>('create webhook', () =>
      this.sdk.webhook.create(input as never),
    );
    return created.webhook_id;
  }

  async deleteAccount(accountId: string): Promise<void> {
    await this.call('delete account', () => this.sdk.account.delete(segment(accountId)));
  }
}

/** LinkedIn cookie authentication body, as Unipile documents it; only documented fields. */
export interface LinkedinCookieAuth {
  access_token: string;
  premium_token?: string;
  user_agent: string;
  country?: string;
  ip?: string;
}

/** A custom-authentication body: `provider` and that provider's documented fields. */
export type CustomAuthBody = { provider: string } & Record<string, string | number>;

export interface UnipileCheckpoint {
  type: string;
  source?: string;
  contract_options?: { id: string; name: string }[];
  qrcode?: string;
}

export type ConnectAnswer =
  | { object: 'AccountCreated' | 'AccountReconnected'; account_id: string }
  | { object: 'Checkpoint'; account_id: string; checkpoint: UnipileCheckpoint };

/** The status an Account object reports: the worst of its sources (there is no top-level status). */
export function accountStatus(account: UnipileAccount): string {
  const order = ['CREDENTIALS', 'PERMISSIONS', 'ERROR', 'STOPPED', 'CONNECTING', 'OK'];
  const statuses = account.sources.map((s) => s.status);
  return order.find((s) => statuses.includes(s)) ?? 'PENDING';
}
