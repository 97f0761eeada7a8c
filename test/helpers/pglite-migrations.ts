// Runs every migration up, down and up again on an embedded PGlite database and prints what it saw as JSON.
// A child process of the jest test: PGlite loads ES modules, which jest's VM cannot without experimental flags.
import { createDb, migrateLatest } from '../../src/platform/db';

async function main(): Promise<void> {
  const db = createDb('pglite://memory');
  const tables = async (): Promise<string[]> =>
    (
      await db.raw(
        "select tablename from pg_tables where schemaname = 'public' and tablename not like 'knex%' order by 1",
      )
    ).rows.map((r: { tablename: string }) => r.tablename);
  try {
    const applied = await migrateLatest(db);
    const afterUp = await tables();
    await db.migrate.rollback(undefined, true);
    const afterDown = await tables();
    await migrateLatest(db);
    const afterUpAgain = await tables();
    process.stdout.write(JSON.stringify({ applied, afterUp, afterDown, afterUpAgain }));
  } finally {
    await db.destroy();
  }
}

void main();
