import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Logger } from '../logger';
import { appendApiEvent, findAccount } from '../db/repository';
import { forwardToAccount, type TemporalSettings } from '../temporal';
import { classifyMessage } from '../workflows/account-state';
import type { RecoveryPolicy } from '../workflows/definitions';
import type { Metrics } from './metrics';

interface ReceiptRow {
  id: string;
  source: 'account_status' | 'hosted_auth' | 'api' | 'extension_cookie';
  account_id: string | null;
  message: string | null;
  payload: Record<string, unknown>;
  received_at: Date;
}

export interface RelayDeps {
  db: Knex;
  temporal: Client;
  settings: TemporalSettings & { policy: RecoveryPolicy };
  logger: Logger;
  metrics: Metrics;
  intervalMs: number;
}

/**
 * Forwards stored webhook receipts to the account workflows, oldest first. The webhook endpoint answers Unipile
 * as soon as a receipt is stored and kicks the relay; a timer retries what could not be forwarded (Temporal down).
 */
export class WebhookRelay {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: RelayDeps) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.deps.intervalMs);
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Runs a pass now, or right after the one in progress. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(() => undefined)
      .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'relay pass failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Forwards every pending receipt; stops at the first failure so per-account order holds. */
  async drain(): Promise<number> {
    const { db } = this.deps;
    let forwarded = 0;
    for (;;) {
      const batch = await db<ReceiptRow>('webhook_receipts').whereNull('forwarded_at').orderBy('id').limit(50);
      if (batch.length === 0 || this.stopped) return forwarded;
      for (const receipt of batch) {
        try {
          const outcome = await this.forward(receipt);
          await db('webhook_receipts').where({ id: receipt.id }).update({ forwarded_at: db.fn.now(), outcome });
          this.deps.metrics.receiptsForwarded.inc({ outcome });
          forwarded++;
        } catch (err) {
          const message = (err as Error).message ?? String(err);
          await db('webhook_receipts')
            .where({ id: receipt.id })
            .update({ forward_attempts: db.raw('forward_attempts + 1'), last_error: message.slice(0, 500) });
          this.deps.metrics.forwardFailures.inc();
          this.deps.logger.warn({ receiptId: receipt.id, err: message }, 'could not forward webhook; will retry');
          return forwarded;
        }
      }
    }
  }

  private async forward(receipt: ReceiptRow): Promise<string> {
    const { db, temporal, settings } = this.deps;
    const accountId = receipt.account_id;
    if (!accountId) return 'no_action';
    const row = await findAccount(db, accountId);
    const hints = { provider: row?.account_type, userId: row?.user_id };

    if (receipt.source === 'hosted_auth') {
      const p = receipt.payload as { userId: string; provider: string; name?: string };
      const result = await forwardToAccount(temporal, settings, accountId, { linked: p }, { ...hints, ...p });
      return result === 'signalled' ? 'signalled' : 'ignored_deleted';
    }

    if (receipt.source === 'extension_cookie') {
      const cookie = receipt.payload as { fingerprint: string; at: string };
      const result = await forwardToAccount(temporal, settings, accountId, { cookie }, { ...hints, cookie });
      return result === 'signalled' ? 'signalled' : 'ignored_deleted';
    }

    const message = receipt.message ?? '';
    if (classifyMessage(message) === 'other') {
      // Recorded verbatim in the receipt and the history; no workflow needs waking for it.
      await appendApiEvent(db, accountId, 'event_ignored', {
        message,
        reason: 'unknown',
        receiptId: Number(receipt.id),
      });
      return 'no_action';
    }
    if (row?.status === 'DELETED') {
      await appendApiEvent(db, accountId, 'event_ignored', {
        message,
        reason: 'deleted',
        receiptId: Number(receipt.id),
      });
      return 'ignored_deleted';
    }
    const accountType = (receipt.payload.AccountStatus as { account_type?: string } | undefined)?.account_type;
    const event = {
      message,
      accountType,
      receiptId: Number(receipt.id),
      receivedAt: receipt.received_at.toISOString(),
    };
    const result = await forwardToAccount(
      temporal,
      settings,
      accountId,
      { status: event },
      {
        provider: hints.provider ?? accountType,
        userId: hints.userId,
      },
    );
    if (result === 'workflow_closed') {
      await appendApiEvent(db, accountId, 'event_ignored', {
        message,
        reason: 'deleted',
        receiptId: Number(receipt.id),
      });
      return 'ignored_deleted';
    }
    return 'signalled';
  }
}
