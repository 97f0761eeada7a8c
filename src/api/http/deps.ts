import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../../platform/config';
import type { Logger } from '../../platform/logger';
import type { AccountSettings } from '../../platform/temporal-client';
import type { Forwarding } from '../../inbound/inbound-events';
import type { UnipileApi } from '../../unipile/unipile-api';
import type { Metrics } from '../operations/metrics';

export interface ApiDeps {
  config: Config;
  db: Knex;
  temporal: Client;
  temporalSettings: AccountSettings;
  unipile: UnipileApi;
  logger: Logger;
  metrics: Metrics;
  forwarder: Forwarding;
}
