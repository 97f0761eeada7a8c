import knex, { type Knex } from 'knex';
import * as core from '../../migrations/20261127000001_core';
import * as linkedinCookies from '../../migrations/20261127000002_linkedin_cookies';
import * as eventPipeline from '../../migrations/20261129000001_event_pipeline';
import * as emailResend from '../../migrations/20261129000002_email_resend';
import * as hostedLinks from '../../migrations/20261129000003_hosted_links';
import * as checkpointExpiry from '../../migrations/20261129000004_checkpoint_expiry';
import * as reconcile from '../../migrations/20261129000005_reconcile';
import * as backendEvents from '../../migrations/20261129000006_backend_events';
import * as connections from '../../migrations/20261129000007_connections';
import * as reconcileNeverDestroys from '../../migrations/20261202000001_reconcile_never_destroys';
import * as connectionSecrets from '../../migrations/20261202000002_connection_secrets';
import * as hostedLinkReuse from '../../migrations/20261202000003_hosted_link_reuse';
import * as userLocale from '../../migrations/20261202000004_user_locale';
import * as providerIncidents from '../../migrations/20261202000005_provider_incidents';

type Migration = { up(k: Knex): Promise<void>; down(k: Knex): Promise<void> };

// Migrations are imported, not discovered on disk, so they run the same under tsx, jest and compiled JS.
const MIGRATIONS: Record<string, Migration> = {
  '20261127000001_core': core,
  '20261127000002_linkedin_cookies': linkedinCookies,
  '20261129000001_event_pipeline': eventPipeline,
  '20261129000002_email_resend': emailResend,
  '20261129000003_hosted_links': hostedLinks,
  '20261129000004_checkpoint_expiry': checkpointExpiry,
  '20261129000005_reconcile': reconcile,
  '20261129000006_backend_events': backendEvents,
  '20261129000007_connections': connections,
  '20261202000001_reconcile_never_destroys': reconcileNeverDestroys,
  '20261202000002_connection_secrets': connectionSecrets,
  '20261202000003_hosted_link_reuse': hostedLinkReuse,
  '20261202000004_user_locale': userLocale,
  '20261202000005_provider_incidents': providerIncidents,
};

const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name] as Migration,
};

/** `pglite:///abs/dir` (or `pglite://memory`): the embedded database `npm run dev` uses when DATABASE_URL is unset. */
export const isEmbedded = (databaseUrl: string): boolean => databaseUrl.startsWith('pglite:');

export function createDb(databaseUrl: string): Knex {
  if (isEmbedded(databaseUrl)) {
    // PGlite serves one session: knex-pglite keeps a single connection, shared by everything in this process.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ClientPgLite = require('knex-pglite');
    const location = databaseUrl.replace(/^pglite:\/\//, '');
    return knex({
      client: ClientPgLite,
      dialect: 'postgres',
      connection: location === 'memory' ? {} : { filename: location },
      migrations: { migrationSource },
    } as Knex.Config);
  }
  return knex({
    client: 'pg',
    connection: databaseUrl,
    pool: { min: 0, max: 10 },
    migrations: { migrationSource },
  });
}

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest()) as [number, string[]];
  return applied;
}

/** Creates the database named in the URL when it does not exist (development and tests). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  if (isEmbedded(databaseUrl)) return;
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return;
  url.pathname = '/postgres';
  const admin = knex({ client: 'pg', connection: url.toString(), pool: { min: 0, max: 1 } });
  try {
    const found = await admin.raw('select 1 from pg_database where datname = ?', [name]);
    if (found.rows.length === 0) await admin.raw('create database ??', [name]);
  } finally {
    await admin.destroy();
  }
}
