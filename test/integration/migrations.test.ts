import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import knex from 'knex';
import { randomBytes } from 'node:crypto';
import { createDb, ensureDatabase, migrateLatest } from '../../src/platform/db';
import { PG_BASE } from '../helpers/stack';

const MIGRATIONS = [
  '20261127000001_core',
  '20261127000002_linkedin_cookies',
  '20261129000001_event_pipeline',
  '20261129000002_email_resend',
  '20261129000003_hosted_links',
  '20261129000004_checkpoint_expiry',
  '20261129000005_reconcile',
  '20261129000006_backend_events',
  '20261129000007_connections',
  '20261202000001_reconcile_never_destroys',
  '20261202000002_connection_secrets',
  '20261202000003_hosted_link_reuse',
  '20261202000004_user_locale',
  '20261202000005_provider_incidents',
];

const TABLES = [
  'account_events',
  'accounts',
  'backend_events',
  'connections',
  'email_log',
  'extension_tokens',
  'hosted_links',
  'linkedin_sessions',
  'provider_email_holds',
  'provider_incidents',
  'reconcile_holds',
  'reconcile_listed',
  'users',
  'webhook_receipts',
];

describe('migrations on the embedded database (PGlite)', () => {
  test('run up, down and up again cleanly', () => {
    const tsx = resolve(__dirname, '../../node_modules/.bin/tsx');
    const out = execFileSync(tsx, [resolve(__dirname, '../helpers/pglite-migrations.ts')], { encoding: 'utf8' });
    const seen = JSON.parse(out);
    expect(seen.applied).toEqual(MIGRATIONS);
    expect(seen.afterUp).toEqual(TABLES);
    expect(seen.afterDown).toEqual([]);
    expect(seen.afterUpAgain).toEqual(TABLES);
  });
});

describe('migrations on PostgreSQL', () => {
  const name = `test_mig_${randomBytes(5).toString('hex')}`;
  const db = createDb(`${PG_BASE}/${name}`);
  beforeAll(() => ensureDatabase(`${PG_BASE}/${name}`));
  afterAll(async () => {
    await db.destroy();
    const admin = knex({ client: 'pg', connection: `${PG_BASE}/postgres` });
    await admin.raw('drop database if exists ?? with (force)', [name]);
    await admin.destroy();
  });

  const tables = async () =>
    (
      await db.raw(
        "select tablename from pg_tables where schemaname = 'public' and tablename not like 'knex%' order by 1",
      )
    ).rows.map((r: { tablename: string }) => r.tablename);

  test('run up, down and up again cleanly', async () => {
    expect(await migrateLatest(db)).toEqual(MIGRATIONS);
    expect(await tables()).toEqual(TABLES);
    await db.migrate.rollback(undefined, true);
    expect(await tables()).toEqual([]);
    await migrateLatest(db);
    expect(await tables()).toHaveLength(TABLES.length);
  });

  test('the email log allows one email of each kind per incident', async () => {
    const row = { account_id: 'a', incident_id: 1, kind: 'reconnect_needed', seq: 0, status: 'sent' };
    await db('email_log').insert(row);
    await expect(db('email_log').insert(row)).rejects.toThrow(/unique/);
    await db('email_log').insert({ ...row, incident_id: 2 });
  });
});
