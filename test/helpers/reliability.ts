import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';

/** Where fault tests leave their measured rows; the summary reporter turns them into docs/RELIABILITY.md. */
export const RELIABILITY_RESULTS = resolve(__dirname, '../.tmp/reliability.jsonl');

export interface ReliabilityRow {
  /** `fault`: something broken for real (a process killed, a port closed, a peer answering errors). `fuzz`: hostile
   * input generated against the routes. `abuse`: one caller trying to spend shared capacity or state. */
  kind?: 'fault' | 'fuzz' | 'abuse';
  /** What was injected (a process killed, a port closed, a peer answering 429, generated requests). */
  injected: string;
  /** How many times it was injected in this case. */
  times: number;
  expected: string;
  observed: string;
  /**
   * Counted, never assumed: events accepted (answered 200/202) that did not reach the account (EventLedger), emails
   * due that the SMTP peer never received, and copies received beyond one per email. `null` when the case sends no
   * event or email, so there is nothing to count.
   */
  eventsLost: number | null;
  emailsLost: number | null;
  duplicateEmails: number | null;
}

/**
 * Records one case as measured by the test that injected it, before its assertions, so a failing case keeps its
 * figures (the reporter marks the row failed). The row names the command that reruns it.
 */
export function recordReliability(row: ReliabilityRow): void {
  const { currentTestName, testPath } = expect.getState();
  const file = relative(resolve(__dirname, '../..'), testPath ?? '');
  const pattern = (currentTestName ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/'/g, "'\\''");
  const command = `npx jest ${file} -t '${pattern}'`;
  mkdirSync(dirname(RELIABILITY_RESULTS), { recursive: true });
  appendFileSync(RELIABILITY_RESULTS, `${JSON.stringify({ case: currentTestName, file, command, ...row })}\n`);
}

/** What a client can reach: the backend API (bearer token set) and the Temporal frontend (operators' view). */
export interface PublicSurface {
  api$(method: string, path: string): Promise<{ status: number; json: any }>;
  client: Client;
}

interface ReceiptItem {
  id: number;
  source: string;
  accountId: string | null;
  message: string | null;
  state: string;
}

/** Sources whose receipts reach the account workflow as a status signal carrying the receipt's id. */
const STATUS_SOURCES = new Set(['account_status', 'api', 'reconcile']);

export interface EventCount {
  /** Receipts stored for the accounts (every state). */
  stored: number;
  /** Status receipts found in a `unipileStatus` signal of the account's workflow history (any run). */
  delivered: number;
  /** Status receipts journalled `event_ignored` (unknown message, deleted account): applied, nothing to do. */
  ignored: number;
  /** Receipts parked as dead: not delivered, waiting for an operator's replay. */
  dead: number;
  /** Receipts signalled more than once (the workflow drops the copy by receipt id; counted to see it happen). */
  duplicates: number;
  /**
   * Events lost: webhooks answered 200 that no stored receipt accounts for, plus stored receipts that neither
   * reached the workflow nor were ignored (dead and still-pending receipts included).
   */
  lost: number;
}

/**
 * Counts, through the public surface only, what became of the events sent to some accounts: the receipts the backend
 * API lists, the signals in each account workflow's histories (every run), the `event_ignored` entries of the
 * account's events. `mark()` first, then `count()` once the case has settled; `posted` names the status webhooks
 * the case itself sent and how many were answered 200.
 */
export class EventLedger {
  private baseline = new Set<number>();

  constructor(
    private readonly surface: PublicSurface,
    private readonly accountIds: string[],
  ) {}

  async receipts(): Promise<ReceiptItem[]> {
    const wanted = new Set(this.accountIds);
    const all: ReceiptItem[] = [];
    for (const state of ['pending', 'forwarded', 'dead']) {
      let before: number | null = null;
      do {
        const res = await this.surface.api$(
          'GET',
          `/api/receipts?state=${state}&limit=500${before ? `&before=${before}` : ''}`,
        );
        if (res.status !== 200) throw new Error(`GET /api/receipts answered ${res.status}`);
        all.push(...(res.json.items as ReceiptItem[]).filter((r) => r.accountId && wanted.has(r.accountId)));
        before = res.json.nextCursor as number | null;
      } while (before);
    }
    return all;
  }

  /** Remembers the receipts stored so far: `count` attributes only newer ones to the posted webhooks. */
  async mark(): Promise<void> {
    this.baseline = new Set((await this.receipts()).map((r) => r.id));
  }

  /** Receipt ids in `unipileStatus` signals of every run of the account's workflow, with how often each came. */
  private async signalledReceipts(accountId: string): Promise<Map<number, number>> {
    const ids = new Map<number, number>();
    const workflowId = `account-${accountId}`;
    for await (const run of this.surface.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      const history = await this.surface.client.workflow.getHandle(workflowId, run.runId).fetchHistory();
      for (const event of history.events ?? []) {
        const signal = event.workflowExecutionSignaledEventAttributes;
        if (signal?.signalName !== 'unipileStatus') continue;
        const [status] = (signal.input?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p)) as {
          receiptId?: number;
        }[];
        if (status?.receiptId !== undefined) {
          const id = Number(status.receiptId);
          ids.set(id, (ids.get(id) ?? 0) + 1);
        }
      }
    }
    return ids;
  }

  private async ignoredReceipts(accountId: string): Promise<Set<number>> {
    const res = await this.surface.api$('GET', `/api/accounts/${accountId}/events?limit=500`);
    const items = (res.status === 200 ? res.json.items : []) as { type: string; data: { receiptId?: number } }[];
    return new Set(items.filter((e) => e.type === 'event_ignored' && e.data.receiptId).map((e) => e.data.receiptId!));
  }

  async count(posted: { message: string; accepted: number }[] = []): Promise<EventCount> {
    const receipts = await this.receipts();
    const delivered = new Map<number, number>();
    const ignored = new Set<number>();
    for (const accountId of this.accountIds) {
      for (const [id, n] of await this.signalledReceipts(accountId)) delivered.set(id, (delivered.get(id) ?? 0) + n);
      for (const id of await this.ignoredReceipts(accountId)) ignored.add(id);
    }
    let lost = 0;
    for (const p of posted) {
      const stored = receipts.filter(
        (r) => !this.baseline.has(r.id) && r.source === 'account_status' && r.message === p.message,
      ).length;
      lost += Math.max(0, p.accepted - stored);
    }
    for (const r of receipts) {
      const reached = STATUS_SOURCES.has(r.source) ? delivered.has(r.id) || ignored.has(r.id) : r.state === 'forwarded';
      if (!reached) lost++;
    }
    return {
      stored: receipts.length,
      delivered: receipts.filter((r) => delivered.has(r.id)).length,
      ignored: receipts.filter((r) => ignored.has(r.id)).length,
      dead: receipts.filter((r) => r.state === 'dead').length,
      duplicates: receipts.filter((r) => (delivered.get(r.id) ?? 0) > 1).length,
      lost,
    };
  }
}
