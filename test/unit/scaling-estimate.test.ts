// The million-account estimate's arithmetic (bench/scaling-doc.ts) and its billable-action count
// (bench/scenarios/scaling.ts), on fixed inputs: the rules Temporal Cloud documents, the tiered list price.
import type { temporal } from '@temporalio/proto';
import Long from 'long';
import { actionsUsd, renderScaling } from '../../bench/scaling-doc';
import { historyCost } from '../../bench/scenarios/scaling';

type Event = temporal.api.history.v1.IHistoryEvent;

const started: Event = { workflowExecutionStartedEventAttributes: {} };
const signal: Event = { workflowExecutionSignaledEventAttributes: { signalName: 'unipileStatus' } };
const marker = (task: number): Event => ({
  markerRecordedEventAttributes: { workflowTaskCompletedEventId: Long.fromNumber(task) },
});
const upsert = (keys: string[]): Event => ({
  upsertWorkflowSearchAttributesEventAttributes: {
    searchAttributes: { indexedFields: Object.fromEntries(keys.map((k) => [k, { data: new Uint8Array([1]) }])) },
  },
});

describe('historyCost', () => {
  test('counts signal-with-start once, and a later signal again', () => {
    expect(historyCost([started, signal]).byKind).toEqual({ 'workflow started': 1 });
    expect(historyCost([started, signal, signal]).actions).toBe(2);
  });

  test('counts the local-activity markers of one workflow task as one action', () => {
    const cost = historyCost([started, marker(4), marker(4), marker(4), marker(9)]);
    expect(cost.byKind['local activities (one per workflow task)']).toBe(2);
    expect(cost.actions).toBe(3);
  });

  test('counts activity retries from the started attempt, timers, and no upsert of the version marker alone', () => {
    const cost = historyCost([
      started,
      { activityTaskScheduledEventAttributes: {} },
      { activityTaskStartedEventAttributes: { attempt: 3 } },
      { timerStartedEventAttributes: { timerId: '1' } },
      upsert(['TemporalChangeVersion']),
      upsert(['AccountStatus', 'TemporalChangeVersion']),
    ]);
    expect(cost.byKind).toEqual({
      'workflow started': 1,
      'activity scheduled': 1,
      'activity retry': 2,
      'timer started': 1,
      'search-attribute upsert': 1,
    });
    expect(cost.events).toBe(6);
    expect(cost.bytes).toBeGreaterThan(0);
  });
});

describe('actionsUsd', () => {
  test("matches the pricing page's own example (11.25M actions: $525)", () => {
    expect(actionsUsd(11_250_000)).toBeCloseTo(525, 6);
  });

  test('charges the first tier below 5M and the last tier past 200M', () => {
    expect(actionsUsd(1_000_000)).toBeCloseTo(50, 6);
    expect(actionsUsd(201_000_000) - actionsUsd(200_000_000)).toBeCloseTo(25, 6);
  });
});

describe('renderScaling', () => {
  const cost = (events: number, bytes: number, actions: number) => ({ events, bytes, actions, byKind: {} });
  const out = {
    run: { command: 'npm run bench -- --only scaling', startedAt: '2026-12-02T14:00:00Z' },
    machine: { cpus: 2 },
    scaling: {
      idle: { history: cost(13, 2000, 3), gained: cost(0, 0, 0), idleSeconds: 600, windowSeconds: 300 },
      incident: { ...cost(14, 2500, 6), unipileCalls: 1, accountEventRows: 5, webhookReceiptRows: 1 },
      fullEscalation: { ...cost(118, 19000, 29), unipileCalls: 5 },
      heldByProviderIncident: null,
      workerMemory: {
        workflows: 1000,
        kbPerCachedWorkflow: 20,
        cached: { rssMb: 320, cachedWorkflows: 1000 },
        uncached: { rssMb: 300 },
      },
      postgres: { tables: [], accounts: 1000, totalBytes: 8_000_000, bytesPerAccount: 8000 },
      wake: {
        defaults: { UNIPILE_MAX_RPS: 5, RECONCILE_INTERVAL_MS: 3_600_000 },
        benchCap: 10,
        cappedRuns: [],
        uncappedRuns: [{ accounts: 1000, attemptsPerSecond: 40 }],
      },
    },
  };

  test('scales each measured input to a million beside it', () => {
    const doc = renderScaling(out, '/tmp/run.json');
    expect(doc).toContain('| PostgreSQL | 8 GB | 8,000 bytes per account');
    expect(doc).toContain('2 GB, $62.50/month');
    expect(doc).toContain('55.6 h at UNIPILE_MAX_RPS=5');
    expect(doc).toContain('not measured (the provider-incident scenario did not run with this one)');
  });

  test('takes PostgreSQL per account from the accounts added, when measured', () => {
    const marginal = { accounts: 200, bytes: 500_000, bytesPerAccount: 2500, tables: [] };
    const withMarginal = { ...out, scaling: { ...out.scaling, postgres: { ...out.scaling.postgres, marginal } } };
    expect(renderScaling(withMarginal, '/tmp/run.json')).toContain('| PostgreSQL | 2.5 GB | 2,500 bytes per account');
  });

  test('bills a month of incidents at the tiered price, the starts apart', () => {
    // 300,000 incidents: 285,000 × 6 + 15,000 × 29 = 2,145,000 actions; the starts add 3,000,000.
    expect(renderScaling(out, '/tmp/run.json')).toContain('2,145,000 actions, $107 at list price');
  });

  test('refuses a results file without the scaling figures', () => {
    expect(() => renderScaling({}, '/tmp/run.json')).toThrow(/no scaling figures/);
  });
});
