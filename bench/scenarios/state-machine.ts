// The pure state machine, for scale: how many events per second the reducer applies, with no I/O at all.
import { applyInbound, initialState } from '../../src/workflows/account/state';
import { round } from '../harness';
import type { Scenario } from './scenario';

export const stateMachine: Scenario = {
  name: 'state-machine',
  needs: [],
  stack: false,
  async run(bench) {
    const n = 200_000;
    let state = initialState({ accountId: 'a', provider: 'LINKEDIN', userId: 'u' });
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const message = ['OK', 'CONNECTING', 'CREDENTIALS', 'OK', 'ERROR', 'OK'][i % 6]!;
      state = applyInbound(state, { type: 'status', event: { message, receivedAt: '2026-01-01T00:00:00.000Z' } }, i);
      if (state.journal.length > 100) state = { ...state, journal: [] };
    }
    bench.out.stateMachineEventsPerSecond = round((n / (performance.now() - t)) * 1000, 0);
  },
};
