// What became of the webhooks a round sent, counted from what a client can see: the receipts the backend API lists
// and the `unipileStatus` signals in the account workflows' histories. A dead receipt is not a delivered one.
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { round, sleep, type LoadResult } from './harness';

export interface EventCount {
  /** Webhooks the API answered 200. */
  sent: number;
  /** Receipts stored for the round's accounts, in any state. */
  stored: number;
  /** Stored receipts found in a `unipileStatus` signal of their account's workflow history. */
  delivered: number;
  /** Receipts parked as dead (waiting for an operator's replay): counted as lost too. */
  dead: number;
  /** Receipts still pending when counted: counted as lost too. */
  pending: number;
  /** Answered 200 without a stored receipt, plus stored receipts that never reached their workflow. */
  lost: number;
  /** Receipts signalled more than once. */
  duplicated: number;
}

interface ReceiptItem {
  id: number;
  accountId: string | null;
  state: string;
}

/** What a client reaches: the backend API and the Temporal frontend (the benchmark's Bench has both). */
interface Surface {
  apiUrl: string;
  settings: { apiToken: string };
  client: Client;
}

/** Every receipt of these accounts the backend API lists, page by page, in each state. */
async function receipts(surface: Surface, accounts: Set<string>): Promise<ReceiptItem[]> {
  const found: ReceiptItem[] = [];
  for (const state of ['pending', 'forwarded', 'dead']) {
    let before: number | null = null;
    do {
      const url = `${surface.apiUrl}/api/receipts?state=${state}&limit=500${before ? `&before=${before}` : ''}`;
      const res = await fetch(url, { headers: { authorization: `Bearer ${surface.settings.apiToken}` } });
      if (res.status !== 200) throw new Error(`GET /api/receipts answered ${res.status}`);
      const page = (await res.json()) as { items: ReceiptItem[]; nextCursor: number | null };
      found.push(...page.items.filter((r) => r.accountId !== null && accounts.has(r.accountId)));
      before = page.nextCursor;
    } while (before);
  }
  return found;
}

/**
 * Receipt ids carried by the `unipileStatus` signals of every run of the account's workflow, with how often each
 * came: from the latest run back along continue-as-new. (The benchmark never deletes an account, so no run starts
 * afresh after one that completed.)
 */
async function signalled(client: Client, accountId: string, into: Map<number, number>): Promise<void> {
  let runId: string | undefined;
  do {
    const history = await client.workflow.getHandle(`account-${accountId}`, runId).fetchHistory();
    runId = undefined;
    for (const event of history.events ?? []) {
      const started = event.workflowExecutionStartedEventAttributes;
      if (started?.continuedExecutionRunId) runId = started.continuedExecutionRunId;
      const signal = event.workflowExecutionSignaledEventAttributes;
      if (signal?.signalName !== 'unipileStatus') continue;
      const [status] = (signal.input?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p)) as {
        receiptId?: number;
      }[];
      if (status?.receiptId === undefined) continue;
      const id = Number(status.receiptId);
      into.set(id, (into.get(id) ?? 0) + 1);
    }
  } while (runId);
}

/** How long a count showing a loss is retried before the loss is reported. */
const SETTLE_MS = 30_000;

/** One count of the round, as things stand. */
async function countOnce(surface: Surface, accountIds: string[], answered: LoadResult): Promise<EventCount> {
  const stored = await receipts(surface, new Set(accountIds));
  const signals = new Map<number, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < accountIds.length) await signalled(surface.client, accountIds[next++]!, signals);
    }),
  );
  const sent = answered.requests - answered.errors;
  const delivered = stored.filter((r) => signals.has(r.id)).length;
  return {
    sent,
    stored: stored.length,
    delivered,
    dead: stored.filter((r) => r.state === 'dead').length,
    pending: stored.filter((r) => r.state === 'pending').length,
    lost: Math.max(0, sent - stored.length) + (stored.length - delivered),
    duplicated: stored.filter((r) => (signals.get(r.id) ?? 0) > 1).length,
  };
}

/**
 * Counts a round once it has settled; `answered` is the round's load result. A signal that arrives while its workflow
 * has a task in flight is buffered by the server and shows in the history only when that task completes, so a count
 * showing a loss is taken again for a while before the loss is reported.
 */
export async function countEvents(surface: Surface, accountIds: string[], answered: LoadResult): Promise<EventCount> {
  const deadline = Date.now() + SETTLE_MS;
  let count = await countOnce(surface, accountIds, answered);
  while (count.lost > 0 && Date.now() < deadline) {
    await sleep(2000);
    count = await countOnce(surface, accountIds, answered);
  }
  return count;
}

/** Delivered events per second over the round, dead and lost ones left out. */
export const deliveredRate = (count: EventCount, seconds: number) => round(count.delivered / seconds, 1);
