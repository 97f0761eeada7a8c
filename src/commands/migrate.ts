// npm run migrate [latest|rollback|down-all]: runs the knex migrations against DATABASE_URL.
import { createDb, ensureDatabase, migrateLatest } from '../platform/db';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/unipile_accounts';
  const command = process.argv[2] ?? 'latest';
  if (!process.env.DATABASE_URL) await ensureDatabase(url);
  const db = createDb(url);
  try {
    if (command === 'latest') console.log('applied:', (await migrateLatest(db)).join(', ') || 'nothing, up to date');
    else if (command === 'rollback')
      console.log('rolled back:', (await db.migrate.rollback())[1].join(', ') || 'nothing');
    else if (command === 'down-all')
      console.log('rolled back:', (await db.migrate.rollback(undefined, true))[1].join(', ') || 'nothing');
    else throw new Error(`unknown command ${command} (latest, rollback, down-all)`);
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
