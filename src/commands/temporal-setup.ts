// npm run temporal:setup: registers the account search attributes and the reconciliation schedule on the Temporal
// named by TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE (idempotent; workers also create the schedule when they start).
import { Connection } from '@temporalio/client';
import { loadConfigPart, temporalConnectionOptions } from '../platform/config';
import { clientOver, ensureReconcileSchedule, registerSearchAttributes } from '../platform/temporal-client';

async function main(): Promise<void> {
  const config = loadConfigPart([
    'TEMPORAL_ADDRESS',
    'TEMPORAL_NAMESPACE',
    'TEMPORAL_TLS',
    'TEMPORAL_API_KEY',
    'TEMPORAL_TASK_QUEUE',
    'RECONCILE_INTERVAL',
  ]);
  const address = config.TEMPORAL_ADDRESS;
  const namespace = config.TEMPORAL_NAMESPACE;
  const connection = await Connection.connect(temporalConnectionOptions(config));
  try {
    const added = await registerSearchAttributes(connection, namespace);
    console.log(
      added.length
        ? `registered ${added.join(', ')} on ${address}/${namespace}`
        : `search attributes already present on ${address}/${namespace}`,
    );
    const schedule = await ensureReconcileSchedule(
      clientOver(connection, namespace),
      config.TEMPORAL_TASK_QUEUE,
      config.RECONCILE_INTERVAL,
    );
    console.log(`schedule ${schedule.scheduleId} ${schedule.created ? 'created' : 'updated'}`);
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
