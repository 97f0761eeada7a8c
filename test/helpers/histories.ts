import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

export const HISTORY_DIR = resolve(__dirname, '../fixtures/histories');

/**
 * With RECORD_HISTORIES=1, saves a finished scenario's workflow history as a replay fixture (the JSON that
 * `temporal workflow show --output json` prints). Committed fixtures are replayed by test/integration/replay.test.ts.
 */
export async function maybeRecordHistory(client: Client, workflowId: string, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  mkdirSync(HISTORY_DIR, { recursive: true });
  writeFileSync(resolve(HISTORY_DIR, `${name}.json`), historyToJSON(history));
}
