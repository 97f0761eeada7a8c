// The worker of the bench's ceiling workflows, in its own process like the product's worker and with the same
// worker settings (from the same configuration). It serves the sink's count of handled signals over HTTP.
import { createServer } from 'node:http';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig, temporalConnectionOptions } from '../../src/platform/config';
import { createDb } from '../../src/platform/db';
import { CEILING_TABLE, type CeilingActivities } from './contract';

async function main(): Promise<void> {
  const config = loadConfig();
  const httpUrl = process.env.CEILING_HTTP_URL!;
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const db = createDb(config.DATABASE_URL);
  const activities: CeilingActivities = {
    async touch(id) {
      const res = await fetch(`${httpUrl}/restart/${encodeURIComponent(id)}`, { method: 'POST' });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`touch answered ${res.status}`);
    },
    async record(id) {
      await db(CEILING_TABLE).insert({ id });
    },
  };
  let signalled = 0;
  let lastAt = 0;
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: process.env.CEILING_TASK_QUEUE!,
    workflowsPath: require.resolve('./workflows'),
    activities,
    sinks: {
      ceiling: {
        signalled: {
          fn() {
            signalled++;
            lastAt = Date.now();
          },
        },
      },
    },
    // The product worker's settings (src/worker/main.ts), so the ceiling is what that worker could reach.
    ...(config.WORKER_MAX_CACHED_WORKFLOWS !== undefined
      ? { maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS }
      : {}),
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentLocalActivityExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    shutdownGraceTime: '2s',
  });
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ signalled, lastAt }));
  }).listen(Number(process.env.CEILING_PORT), '127.0.0.1');
  // SIGTERM shuts the worker down through the SDK's runtime (its default shutdown signals).
  try {
    await worker.run();
  } finally {
    server.close();
    await connection.close();
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
