// Secrets of connections that are not live any more. A connection erases its own secrets on every final
// state; this sweep catches what a crash, an outage or an old run left: a row inserted by an API process that died
// before starting its workflow, a workflow that ended without its last record. It runs in each worker process,
// every CONNECTION_SWEEP_INTERVAL.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { ERASED } from './store';
import type { Logger } from '../platform/logger';
import { connectionWorkflowId, type ConnectionStep } from '../workflows/connection/contract';

export interface ConnectionSweepDeps {
  db: Knex;
  temporal: Client;
  logger: Logger;
  /** A pending connection younger than this is left alone (its workflow may not have started yet). */
  checkpointTimeoutMs: number;
  /** Rows read per page (100). */
  batchSize?: number;
}

/** Rows looked at per pass: each pending one costs a Temporal call. */
const BATCH = 100;

const anySecret = (q: Knex.QueryBuilder) =>
  q.whereNotNull('credentials_ciphertext').orWhereNotNull('answer_ciphertext').orWhereNotNull('qrcode_ciphertext');

/** Whether the connection's workflow is running; undefined when Temporal could not say (then nothing is touched). */
async function running(temporal: Client, connectionId: string): Promise<boolean | undefined> {
  try {
    const description = await temporal.workflow.getHandle(connectionWorkflowId(connectionId)).describe();
    return description.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    return undefined;
  }
}

/**
 * One pass: every secret of a finished connection, and of a pending connection older than CHECKPOINT_TIMEOUT whose
 * workflow is not running (that row is closed too, so it is no longer listed as in progress). Returns the rows
 * cleaned.
 */
export async function sweepConnectionSecrets(deps: ConnectionSweepDeps): Promise<number> {
  const { db } = deps;
  const finished = await db('connections')
    .whereNot({ state: 'pending' })
    .where(anySecret)
    .update({ ...ERASED, updated_at: db.fn.now() });
  // Page through every old pending row (keyset on created_at, id): rows kept because their workflow still runs must
  // not hide newer abandoned ones behind a fixed batch.
  const batch = deps.batchSize ?? BATCH;
  const old: { id: string; step: ConnectionStep }[] = [];
  let after: { created_at: Date; id: string } | undefined;
  for (;;) {
    const query = db('connections')
      .where({ state: 'pending' })
      .where('created_at', '<', db.raw(`now() - make_interval(secs => ?)`, [deps.checkpointTimeoutMs / 1000]));
    if (after) query.whereRaw('(created_at, id) > (?, ?)', [after.created_at, after.id]);
    const page = (await query
      .orderBy([{ column: 'created_at' }, { column: 'id' }])
      .limit(batch)
      .select('id', 'step', 'created_at')) as { id: string; step: ConnectionStep; created_at: Date }[];
    old.push(...page);
    if (page.length < batch) break;
    after = page[page.length - 1];
  }
  let abandoned = 0;
  for (const row of old) {
    // Never on missing evidence: a connection whose workflow runs, or that Temporal cannot tell about, is kept.
    if ((await running(deps.temporal, row.id)) !== false) continue;
    const started = row.step.type !== 'connecting';
    const step: ConnectionStep = { type: 'failed', error: started ? 'expired' : 'not_started' };
    abandoned += await db('connections')
      .where({ id: row.id, state: 'pending' })
      .update({
        step: JSON.stringify(step),
        state: started ? 'expired' : 'failed',
        expires_at: null,
        ...ERASED,
        updated_at: db.fn.now(),
      });
  }
  if (finished + abandoned > 0) deps.logger.info({ finished, abandoned }, 'connection secrets swept');
  return finished + abandoned;
}

/** Runs the sweep every `intervalMs` while `alive()` says the worker runs; one pass at a time. */
export class ConnectionSweep {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly deps: ConnectionSweepDeps,
    private readonly intervalMs: number,
  ) {}

  start(alive: () => boolean = () => true): void {
    this.timer = setInterval(() => {
      if (alive()) void this.tick();
      else void this.stop();
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): Promise<void> {
    this.running ??= sweepConnectionSecrets(this.deps)
      .then(() => undefined)
      .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'connection sweep failed'))
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
