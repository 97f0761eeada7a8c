// npm run bench: how fast the API takes account_status webhooks in (validate, store in PostgreSQL, answer 200),
// and how fast the pure state machine applies events. Prints numbers; asserts nothing.
import { randomBytes } from 'node:crypto';
import knex from 'knex';
import { loadConfig } from '../src/config';
import { createDb, ensureDatabase, migrateLatest } from '../src/db/knex';
import { startApi } from '../src/api/server';
import { createLogger } from '../src/logger';
import { applyInbound, initialState } from '../src/workflows/account-state';

const PG = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function ingest(): Promise<void> {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const url = `${PG}/${name}`;
  await ensureDatabase(url);
  const db = createDb(url);
  await migrateLatest(db);
  const config = loadConfig({
    DATABASE_URL: url,
    // Nothing listens here: forwarding is left to the relay, so only ingestion is measured.
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    UNIPILE_DSN: 'http://127.0.0.1:1',
    UNIPILE_API_KEY: 'k',
    PUBLIC_BASE_URL: 'http://127.0.0.1',
    PORT: '0',
    API_TOKEN: 't',
    UNIPILE_WEBHOOK_SECRET: 's',
    SIGNING_SECRET: 'x',
    COOKIE_ENCRYPTION_KEY: `k1:${randomBytes(32).toString('base64')}`,
    SMTP_URL: 'smtp://127.0.0.1:1',
    MAIL_FROM: 'a@b.c',
    INBOX_RELAY_INTERVAL: '1h',
  });
  const api = await startApi(config, { host: '127.0.0.1', logger: createLogger('silent') });
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        const i = next++;
        const t = performance.now();
        const res = await fetch(`${api.url}/webhooks/unipile/account-status`, {
          method: 'POST',
          headers: { 'unipile-auth': 's', 'content-type': 'application/json' },
          body: JSON.stringify({
            AccountStatus: { account_id: `acc-${i % 100}`, account_type: 'LINKEDIN', message: 'OK' },
          }),
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(
    `webhook ingestion: ${REQUESTS} requests, concurrency ${CONCURRENCY}: ${(REQUESTS / seconds).toFixed(0)} req/s, ` +
      `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  );
  await api.stop();
  await db.destroy();
  const admin = knex({ client: 'pg', connection: `${PG}/postgres` });
  await admin.raw('drop database if exists ?? with (force)', [name]);
  await admin.destroy();
}

function reducer(): void {
  const n = 200_000;
  const messages = ['OK', 'CONNECTING', 'CREDENTIALS', 'OK', 'ERROR', 'OK'];
  let state = initialState({ accountId: 'a', provider: 'LINKEDIN', userId: 'u' });
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const message = messages[i % messages.length]!;
    state = applyInbound(state, { type: 'status', event: { message, receivedAt: '2026-01-01T00:00:00.000Z' } }, i);
    if (state.journal.length > 100) state = { ...state, journal: [] };
  }
  const ms = performance.now() - started;
  console.log(`state machine: ${n} events in ${ms.toFixed(0)} ms (${((n / ms) * 1000).toFixed(0)} events/s)`);
}

reducer();
ingest().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
