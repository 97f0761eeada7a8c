import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Knex } from 'knex';
import { createBookkeepingActivities } from '../activities/bookkeeping';
import type { ActivityDeps } from '../activities/deps';
import { createUnipileActivities } from '../activities/unipile';
import {
  accountSettings,
  loadConfig,
  temporalConnectionOptions,
  unipileBaseUrl,
  type Config,
} from '../platform/config';
import { CookieCipher } from '../platform/cipher';
import { createDb } from '../platform/db';
import { createMailer, type Mailer } from '../email/mailer';
import { createLogger, type Logger } from '../platform/logger';
import { forwarderOptions, ReceiptForwarder } from '../inbound/receipt-forwarder';
import { clientOver, ensureReconcileSchedule } from '../platform/temporal-client';
import { BackendEventSender } from '../backend-events/sender';
import { ConnectionSweep } from '../connections/sweep';
import { ensureProviderIncidentsWorkflow, providerIncidentSettings } from '../providers/workflow';
import { UnipileApi } from '../unipile/unipile-api';
import { unipileTaskQueue } from '../workflows/task-queues';

export interface WorkerDeps {
  config: Config;
  connection: NativeConnection;
  db: Knex;
  mailer: Mailer;
  logger?: Logger;
  /** Prebuilt workflow bundle (production, tests); otherwise the worker bundles src/workflows at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** What every activity uses, from the configuration and the worker's own connections. */
function activityDeps(deps: WorkerDeps, forwarding: ReceiptForwarder): ActivityDeps {
  const { config } = deps;
  return {
    db: deps.db,
    mailer: deps.mailer,
    unipile: new UnipileApi(unipileBaseUrl(config.UNIPILE_DSN), config.UNIPILE_API_KEY, config.UNIPILE_REQUEST_TIMEOUT),
    cipher: new CookieCipher(config.COOKIE_ENCRYPTION_KEY),
    forwarding,
    publicBaseUrl: config.PUBLIC_BASE_URL,
    signingSecret: config.SIGNING_SECRET,
    mailFrom: config.MAIL_FROM,
    cookieStaleAfterMs: config.COOKIE_STALE_AFTER,
    emailStaleAfterMs: config.EMAIL_SEND_TIMEOUT * 1.5,
    backendEvents: !!config.BACKEND_WEBHOOK_URL,
    graceMs: config.RECONCILE_GRACE,
    maxDeletions: config.RECONCILE_MAX_DELETIONS,
    providerIncidents: providerIncidentSettings(config),
  };
}

/**
 * The account workers: workflows and bookkeeping activities on the main queue, and the Unipile calls on their own
 * queue (`<queue>-unipile`) whose server-side rate limit UNIPILE_MAX_RPS holds across every worker process.
 */
export async function createAccountWorkers(deps: WorkerDeps): Promise<Worker[]> {
  const { config } = deps;
  const logger = deps.logger ?? createLogger(config.LOG_LEVEL, 'worker');
  const client = clientOver(deps.connection, config.TEMPORAL_NAMESPACE);
  // Events the workers store themselves (a finished cookie connection) are forwarded at once, like the API's; the
  // API's sweep catches any this process could not deliver. With FORWARDER_PLACEMENT=worker this process holds the
  // forwarding role instead: it listens for the API's receipts and sweeps (started below, once the worker exists).
  const forwarding = new ReceiptForwarder(
    {
      db: deps.db,
      temporal: client,
      settings: accountSettings(config),
      logger,
    },
    forwarderOptions(config, 'worker'),
  );
  const activities = activityDeps(deps, forwarding);
  await ensureReconcileSchedule(client, config.TEMPORAL_TASK_QUEUE, config.RECONCILE_INTERVAL);
  // The provider-incidents singleton runs whichever worker started it; a second start finds it running.
  await ensureProviderIncidentsWorkflow(client, config.TEMPORAL_TASK_QUEUE);
  const main = await Worker.create({
    connection: deps.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: createBookkeepingActivities(activities),
    // Sized from measurements (docs/BENCHMARKS.md): an evicted account workflow replays its (short) history.
    ...(config.WORKER_MAX_CACHED_WORKFLOWS !== undefined
      ? { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS }
      : {}),
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentLocalActivityExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    reuseV8Context: config.WORKER_REUSE_V8_CONTEXT,
    stickyQueueScheduleToStartTimeout: config.WORKER_STICKY_SCHEDULE_TO_START_TIMEOUT,
    ...(deps.workflowBundle
      ? { workflowBundle: deps.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    shutdownGraceTime: '10s',
  });
  const unipile = await Worker.create({
    connection: deps.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: unipileTaskQueue(config.TEMPORAL_TASK_QUEUE),
    activities: createUnipileActivities(activities),
    maxTaskQueueActivitiesPerSecond: config.UNIPILE_MAX_RPS,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    shutdownGraceTime: '10s',
  });
  // Forwards while the main worker runs; the role stops with it, so the process can exit.
  forwarding.start(() => ['INITIALIZED', 'RUNNING'].includes(main.getState()));
  // Secrets of connections that are over or abandoned are erased here, while the main worker runs.
  new ConnectionSweep(
    { db: deps.db, temporal: client, logger, checkpointTimeoutMs: config.CHECKPOINT_TIMEOUT },
    config.CONNECTION_SWEEP_INTERVAL,
  ).start(() => ['INITIALIZED', 'RUNNING'].includes(main.getState()));
  if (config.BACKEND_WEBHOOK_URL && config.BACKEND_WEBHOOK_SECRET) {
    const sender = new BackendEventSender(deps.db, logger, {
      url: config.BACKEND_WEBHOOK_URL,
      secret: config.BACKEND_WEBHOOK_SECRET,
      retryForMs: config.BACKEND_WEBHOOK_RETRY_FOR,
    });
    // Sending stops with the main worker; whatever was not delivered stays in the outbox for the next start.
    sender.start(() => ['INITIALIZED', 'RUNNING'].includes(main.getState()));
  }
  return [main, unipile];
}

/**
 * Runs workers until one stops (shutdown signal or failure), then shuts the others down and waits for them: the
 * connection they share can only close once none holds it.
 */
export async function runWorkers(workers: Worker[]): Promise<void> {
  const runs = workers.map((w) => w.run());
  // Whichever ends first (a signal stops them all; a failure stops one), the others are shut down and waited for.
  await Promise.race(runs).catch(() => undefined);
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  const failed = (await Promise.allSettled(runs)).find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Routes the SDK's and the Rust core's logs into pino. Once per process, before any connection. */
export function installRuntime(logger: Logger, metricsPort?: number, metricsHost = '127.0.0.1'): void {
  Runtime.install({
    ...(metricsPort
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `${metricsHost}:${metricsPort}` } } } }
      : {}),
    logger: new DefaultLogger('INFO', (entry) => {
      const level = entry.level.toLowerCase() as 'info' | 'warn' | 'error' | 'debug' | 'trace';
      logger[level]({ ...entry.meta }, entry.message);
    }),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });
}

export async function runWorker(config: Config = loadConfig()): Promise<void> {
  const logger = createLogger(config.LOG_LEVEL, 'worker');
  installRuntime(logger, config.WORKER_METRICS_PORT, config.WORKER_METRICS_HOST);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const db = createDb(config.DATABASE_URL);
  const mailer = createMailer(config.SMTP_URL, config.EMAIL_SEND_TIMEOUT);
  try {
    const bundlePath = process.env.WORKFLOW_BUNDLE_PATH;
    const workers = await createAccountWorkers({
      config,
      connection,
      db,
      mailer,
      logger,
      workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
    });
    logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker started');
    await runWorkers(workers);
  } finally {
    await connection.close();
    await db.destroy();
    mailer.close();
  }
}

if (require.main === module) {
  runWorker().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
