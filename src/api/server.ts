import type { Server } from 'node:http';
import type { Knex } from 'knex';
import { accountSettings, loadConfig, unipileBaseUrl, type Config } from '../platform/config';
import { createDb } from '../platform/db';
import { close, listen } from '../platform/http-listen';
import { createLogger, type Logger } from '../platform/logger';
import { createTemporalClient } from '../platform/temporal-client';
import { forwarderOptions, forwarderPlacement, ReceiptForwarder } from '../inbound/receipt-forwarder';
import { ReceiptNotifier } from '../inbound/receipt-notifications';
import { CallBudget, UnipileApi } from '../unipile/unipile-api';
import { createApp } from './app';
import { createMetrics } from './operations/metrics';

export interface RunningApi {
  url: string;
  server: Server;
  forwarder: ReceiptForwarder;
  stop(): Promise<void>;
}

/** Starts the API and the receipt forwarder. Temporal is connected lazily: webhooks are stored even while it is down. */
export async function startApi(
  config: Config,
  options: { host?: string; logger?: Logger; db?: Knex } = {},
): Promise<RunningApi> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL, 'api');
  // An embedded database is shared with the worker in the same process, which then owns it.
  const db = options.db ?? createDb(config.DATABASE_URL);
  const temporalSettings = accountSettings(config);
  const temporal = createTemporalClient(temporalSettings);
  const metrics = createMetrics(db, { cacheMs: config.OPS_CACHE_TTL });
  // Every Unipile call the API makes on a user's behalf (hosted links, account reads, deletions) is counted against
  // UNIPILE_API_MAX_RPS (UNIPILE_API_BURST at once), apart from the workers' UNIPILE_MAX_RPS: a flood of requests cannot spend the capacity
  // recovery needs. Per process, by design: two API processes allow twice the rate.
  const unipile = new UnipileApi(
    unipileBaseUrl(config.UNIPILE_DSN),
    config.UNIPILE_API_KEY,
    config.UNIPILE_REQUEST_TIMEOUT,
    new CallBudget(config.UNIPILE_API_MAX_RPS, config.UNIPILE_API_BURST),
  );
  const forwarder = new ReceiptForwarder(
    { db, temporal, settings: temporalSettings, logger, metrics: metrics.forwarder },
    forwarderOptions(config, 'api'),
  );
  // FORWARDER_PLACEMENT=worker: this process only stores receipts and notifies the workers, which forward them.
  const forwards = forwarderPlacement(config) === 'api';
  const forwarding = forwards ? forwarder : new ReceiptNotifier(db, logger);
  const app = createApp({ config, db, temporal, temporalSettings, unipile, logger, metrics, forwarder: forwarding });
  const { server, url } = await listen(app, config.PORT, options.host ?? '0.0.0.0');
  if (forwards) forwarder.start();
  logger.info({ url }, 'API listening');
  return {
    url,
    server,
    forwarder,
    async stop() {
      await forwarder.stop();
      await close(server);
      await temporal.connection.close();
      if (!options.db) await db.destroy();
    },
  };
}

if (require.main === module) {
  Promise.resolve()
    .then(() => startApi(loadConfig()))
    .then(
      (api) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) {
          process.once(signal, () => void api.stop().then(() => process.exit(0)));
        }
      },
      (err: unknown) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
      },
    );
}
