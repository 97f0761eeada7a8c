// Cost in history events: what idle accounts add while watched; what an incident adds. One full escalation (every
// restart fails, then the email and both reminders) runs on short timings, through its own API and worker on
// another task queue (the timings travel with the workflow input).
import { freePort, stopProcess, waitForHttp } from '../../scripts/toolkit/processes';
import type { Bench } from '../environment';
import { log, postJson, sleep, until } from '../harness';
import { costSample } from './mass-disconnect';
import type { Scenario } from './scenario';

/** The history length of one fully escalated account. */
async function fullEscalation(bench: Bench): Promise<{ accountId: string; events: number }> {
  log('cost of a full escalation');
  const escalationPort = await freePort();
  const escalationEnv = {
    TEMPORAL_TASK_QUEUE: `${bench.env.TEMPORAL_TASK_QUEUE}-esc`,
    PORT: String(escalationPort),
    RECONNECT_RETRY_INTERVAL: '1s',
    REMINDER_SCHEDULE: '1s,2s',
    // The first email waits this long for the account to come back by itself: shortened like the reminders.
    EMAIL_SETTLE: '1s',
    UNIPILE_MAX_RPS: '100000',
  };
  const escApi = bench.spawn('src/api/server.ts', escalationEnv);
  const escWorker = bench.spawn('src/worker/main.ts', escalationEnv);
  await waitForHttp(`http://127.0.0.1:${escalationPort}/healthz`, { child: escApi });
  const escalated = bench.sim.createAccount({ type: 'WHATSAPP' }).id;
  bench.sim.script(
    'restart',
    Array.from({ length: 5 }, () => ({ result: 'fail' as const })),
    escalated,
  );
  await postJson(
    `http://127.0.0.1:${escalationPort}/webhooks/unipile/account-status`,
    { AccountStatus: { account_id: escalated, account_type: 'WHATSAPP', message: 'ERROR' } },
    { 'unipile-auth': bench.settings.secret },
  );
  await until(
    async () => (await bench.db('account_events').where({ account_id: escalated, type: 'email' })).length === 3,
    120_000,
    'escalation emails',
  );
  await sleep(1000);
  const events = await bench.historyLength(escalated);
  await stopProcess(escApi);
  await stopProcess(escWorker);
  return { accountId: escalated, events };
}

export const cost: Scenario = {
  name: 'cost',
  needs: ['idle', 'mass-disconnect'],
  stack: true,
  async run(bench) {
    const { idleWatch, idleSample, massRuns } = bench.shared;
    const escalation = await fullEscalation(bench);
    // The scaling scenario reads this account's history back (bytes and billable actions).
    bench.shared.escalationId = escalation.accountId;
    const sampled = [...costSample(bench), idleSample!, escalation.accountId];
    const lengths = await Promise.all(sampled.map((id) => bench.historyLength(id)));
    const added = idleWatch!.after - idleWatch!.before;
    bench.out.cost = {
      // Over the watched window only: the figure says so rather than extrapolating to a day.
      idleHistoryEventsWatched: { seconds: bench.settings.idleWatchMs / 1000, accounts: idleWatch!.accounts, added },
      historyEventsPerIncidentRestartSucceeds: massRuns![0]!.historyEventsPerIncident,
      historyEventsFullEscalation: escalation.events,
      longestHistorySampled: Math.max(...lengths),
      continueAsNewBound: 'the server suggestion (4,096 events or 4 MB by default), or 2,000 events, whichever first',
    };
  },
};
