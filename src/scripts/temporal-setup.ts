// npm run temporal:setup: registers the account search attributes on the Temporal named by TEMPORAL_ADDRESS and
// TEMPORAL_NAMESPACE (idempotent).
import { Connection } from '@temporalio/client';
import { loadConfigPart, temporalConnectionOptions } from '../config';
import { registerSearchAttributes } from '../temporal-client';

async function main(): Promise<void> {
  const config = loadConfigPart(['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_TLS', 'TEMPORAL_API_KEY']);
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
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
