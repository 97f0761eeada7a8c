import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { TemporalSettings } from '../temporal';
import type { UnipileApi } from '../unipile/unipile-api';
import type { RecoveryPolicy } from '../workflows/definitions';
import type { Metrics } from './metrics';
import type { WebhookRelay } from './webhook-relay';

export interface ApiDeps {
  config: Config;
  db: Knex;
  temporal: Client;
  temporalSettings: TemporalSettings & { policy: RecoveryPolicy };
  unipile: UnipileApi;
  logger: Logger;
  metrics: Metrics;
  relay: Pick<WebhookRelay, 'kick'>;
}
