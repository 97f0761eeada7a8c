// How a stored receipt wakes the forwarding role when that role runs in another process: the process that stored it
// NOTIFYs the account on a PostgreSQL channel, and the role LISTENs on a connection of its own. A notification lost
// (the role restarting, the connection down) costs only latency: the sweep finds every pending receipt anyway.
import { Client } from 'pg';
import type { Knex } from 'knex';
import type { Logger } from '../platform/logger';
import type { Forwarding } from './inbound-events';

/** The channel a stored receipt is announced on; the payload is its account id. */
export const RECEIPT_CHANNEL = 'webhook_receipts';

function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}

/**
 * The forwarding of a process that does not forward itself: a kick becomes a NOTIFY. Kicks made in the same turn of
 * the event loop go out in one statement, so a burst costs one round trip, not one per account.
 */
export class ReceiptNotifier implements Forwarding {
  private readonly batch = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger,
  ) {}

  kick(accountId: string): void {
    this.batch.add(accountId);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const accounts = [...this.batch];
    this.batch.clear();
    this.scheduled = false;
    this.db
      .raw('select pg_notify(?, a) from json_array_elements_text(?::json) a', [
        RECEIPT_CHANNEL,
        JSON.stringify(accounts),
      ])
      .catch((err: unknown) =>
        // The receipts are stored: the role's sweep delivers them all the same.
        this.logger.warn({ accounts: accounts.length, err: errorMessage(err) }, 'could not notify stored receipts'),
      );
  }
}

export interface ListenerOptions {
  databaseUrl: string;
  logger: Logger;
  /** An account whose receipts were announced. */
  onAccount(accountId: string): void;
  /** Listening again after a break: what was announced meanwhile was missed, so the caller sweeps. */
  onResumed(): void;
  /** Wait between two connection attempts. */
  retryMs?: number;
}

/** LISTENs on its own connection and reconnects (forever, until stopped) when that connection breaks. */
export class ReceiptListener {
  private client?: Client;
  private retry?: NodeJS.Timeout;
  private stopped = true;
  private broken = false;
  /** Connections already given up (a lost one reports 'error' and then 'end'). */
  private readonly dead = new WeakSet<Client>();

  constructor(private readonly options: ListenerOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.dead.add(client);
    await client.end().catch(() => undefined);
  }

  /** Whether a LISTEN is in place now. */
  get listening(): boolean {
    return !!this.client;
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.options.databaseUrl });
    // Without an 'error' listener a dropped connection would crash the process.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      if (msg.channel === RECEIPT_CHANNEL && msg.payload) this.options.onAccount(msg.payload);
    });
    try {
      await client.connect();
      await client.query(`listen ${RECEIPT_CHANNEL}`);
    } catch (err) {
      this.lost(client, err);
      return;
    }
    if (this.stopped) {
      this.dead.add(client);
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.broken) {
      this.broken = false;
      this.options.logger.info('listening for stored receipts again');
      this.options.onResumed();
    }
  }

  private lost(client: Client, err?: unknown): void {
    if (this.dead.has(client)) return;
    this.dead.add(client);
    if (this.client === client) this.client = undefined;
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    if (this.stopped || this.retry) return;
    if (!this.broken)
      this.options.logger.warn(
        { err: err === undefined ? 'connection ended' : errorMessage(err) },
        'listening for stored receipts stopped; the sweep delivers them meanwhile',
      );
    this.broken = true;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) void this.connect();
    }, this.options.retryMs ?? 1000);
  }
}
