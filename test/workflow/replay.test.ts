import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Worker } from '@temporalio/worker';
import { HISTORY_DIR, HISTORY_SET } from '../helpers/histories';
import {
  accountLinkedSignal,
  cookieUpdatedSignal,
  pauseAccountUpdate,
  providerIncidentClosedSignal,
  reconnectNowUpdate,
  resumeAccountUpdate,
  statusEventSignal,
} from '../../src/workflows/account/contract';
import { providerIncidentActionUpdate } from '../../src/workflows/provider-incidents/contract';
import { solveCheckpointUpdate } from '../../src/workflows/linkedin-connect/contract';
import { awaitConnectionStepUpdate, answerConnectionStepUpdate } from '../../src/workflows/connection/contract';

// Committed histories of real runs (recorded with RECORD_HISTORIES=1) replayed against the current workflow code:
// a change that would break running workflows fails here.
describe('workflow replay', () => {
  // One folder per workflow-code generation (test/helpers/histories.ts HISTORY_SET); all of them replay.
  const files = readdirSync(HISTORY_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));

  test('there are committed histories of every generation to replay', () => {
    expect(files.filter((f) => f.startsWith('v1-')).length).toBeGreaterThanOrEqual(4);
    expect(files.filter((f) => f.startsWith(`${HISTORY_SET}/`)).length).toBeGreaterThanOrEqual(4);
  });

  test('every fixture has a completed workflow task, and together they cover every workflow type and handler', () => {
    const texts = files.map((f) => readFileSync(resolve(HISTORY_DIR, f), 'utf8'));
    for (const [i, text] of texts.entries())
      expect({ file: files[i], completedTask: text.includes('EVENT_TYPE_WORKFLOW_TASK_COMPLETED') }).toEqual({
        file: files[i],
        completedTask: true,
      });
    const current = texts.filter((_, i) => files[i]!.startsWith(`${HISTORY_SET}/`)).join('\n');
    for (const name of [
      'accountWorkflow',
      'linkedinConnectWorkflow',
      statusEventSignal.name,
      accountLinkedSignal.name,
      cookieUpdatedSignal.name,
      reconnectNowUpdate.name,
      pauseAccountUpdate.name,
      resumeAccountUpdate.name,
      providerIncidentClosedSignal.name,
      'providerIncidentsWorkflow',
      providerIncidentActionUpdate.name,
      solveCheckpointUpdate.name,
      'connectionWorkflow',
      'reconcileAccountsWorkflow',
      'reconcileConfirmWorkflow',
      awaitConnectionStepUpdate.name,
      answerConnectionStepUpdate.name,
    ])
      expect({ name, covered: current.includes(`"${name}"`) }).toEqual({ name, covered: true });
    // Paths through the workflow that no handler name shows: reminders, an attempt on a new cookie, an email that
    // ran out of tries, a checkpoint that timed out.
    for (const scenario of [
      'reminders',
      'linkedin-new-cookie-attempt',
      'email-failed-then-sent',
      'linkedin-connect-checkpoint-timeout',
      'connection-qrcode',
      'connection-expired',
      'connection-chained',
      'connection-qrcode-read-under-cap',
      // The scheduled reconciliation: a first 404 kept, a second one deleted.
      'reconcile-run-first-404',
      'reconcile-run-second-404',
      // A restricted answer, another member's cookie, a pause that ends by itself and one resumed.
      'restricted-then-healthy',
      'linkedin-cookie-mismatch',
      'paused-until',
      'paused-then-resumed',
      // An email held by a provider incident, released by its close.
      'provider-hold-released',
    ])
      expect(files.some((f) => f.startsWith(`${HISTORY_SET}/${scenario}`))).toBe(true);
  });

  test.each(files)('%s replays without nondeterminism', async (file) => {
    const history = JSON.parse(readFileSync(resolve(HISTORY_DIR, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } }, history);
  });
});
