// Delivers the `backend_events` outbox to BACKEND_WEBHOOK_URL, signed, in order per account, at least once. Runs in
// the workers beside the account workflows but never inside them: a backend that is down delays its own events,
// never an account's recovery.
import { createHmac } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from '../platform/logger';

export interface SenderOptions {
  url: string;
  secret: string;
  /** Past this long since the event, a refused event is parked as `dead` (it stays listed for operators). */
  retryForMs: number;
  pollIntervalMs?: number;
  timeoutMs?: number;
}

interface OutboxRow {
  id: string;
  event_id: string;
  account_id: string;
  type: string;
  data: Record<string, unknown>;
  occurred_at: Date;
  attempts: number;
}

/** `Keeper-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. */
export function keeperSignature(secret: string, body: string, now = Date.now()): string {
  const t = Math.floor(now / 1000);
  const v1 = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}

const LEASE_MS = 30_000;
const MAX_BACKOFF_MS = 3_600_000;

export class BackendEventSender {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger,
    private readonly options: SenderOptions,
  ) {}

  /** Polls the outbox while `alive()` holds (the worker it runs beside is up). */
  start(alive: () => boolean = () => true): void {
    this.timer = setInterval(() => {
      if (alive()) void this.tick();
      else void this.stop();
    }, this.options.pollIntervalMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): Promise<void> {
    this.running ??= this.sendDue()
      .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'backend event sending paused'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Every account's due head event, one at a time per account, accounts in parallel. */
  async sendDue(): Promise<void> {
    const { rows } = await this.db.raw<{ rows: { account_id: string }[] }>(
      `select account_id from (
         select distinct on (account_id) account_id, next_attempt_at, claimed_until
         from backend_events where state = 'pending' order by account_id, id) heads
       where next_attempt_at <= now() and (claimed_until is null or claimed_until < now()) limit 200`,
    );
    await Promise.all(rows.map((r) => this.drainAccount(r.account_id)));
  }

  private async drainAccount(accountId: string): Promise<void> {
    for (;;) {
      const { rows } = await this.db.raw<{ rows: OutboxRow[] }>(
        `update backend_events e set claimed_until = now() + (? * interval '1 millisecond'), attempts = attempts + 1
         where e.id = (select id from backend_events where account_id = ? and state = 'pending' order by id limit 1)
           and e.next_attempt_at <= now() and (e.claimed_until is null or e.claimed_until < now())
         returning e.*`,
        [LEASE_MS, accountId],
      );
      const row = rows[0];
      if (!row) return;
      const error = await this.post(row);
      if (!error) {
        await this.db('backend_events')
          .where({ id: row.id })
          .update({ state: 'delivered', delivered_at: this.db.fn.now(), claimed_until: null, last_error: null });
        continue;
      }
      const expired = Date.now() - new Date(row.occurred_at).getTime() > this.options.retryForMs;
      const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(row.attempts - 1, 20));
      await this.db('backend_events')
        .where({ id: row.id })
        .update({
          state: expired ? 'dead' : 'pending',
          claimed_until: null,
          last_error: error,
          next_attempt_at: this.db.raw(`now() + (? * interval '1 millisecond')`, [delay]),
        });
      this.logger.warn(
        { eventId: row.event_id, attempts: row.attempts, error, parked: expired },
        'backend event not accepted',
      );
      // A parked event no longer holds the account's later events back; a pending one does (order per account).
      if (!expired) return;
    }
  }

  /** POSTs one event; returns why it was not accepted, or null. */
  private async post(row: OutboxRow): Promise<string | null> {
    const body = JSON.stringify({
      id: row.event_id,
      type: row.type,
      occurredAt: new Date(row.occurred_at).toISOString(),
      data: row.data,
    });
    try {
      const res = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'keeper-signature': keeperSignature(this.options.secret, body) },
        body,
        // A redirect is never followed: it would hand the signed body to an address nobody configured. A 3xx is a
        // refusal like any other non-2xx, retried later against BACKEND_WEBHOOK_URL.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 300 && res.status < 400) return `HTTP ${res.status} (redirect not followed)`;
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      return (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
    }
  }
}
