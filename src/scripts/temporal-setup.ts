// npm run temporal:setup: registers the account search attributes on the Temporal named by TEMPORAL_ADDRESS and
// TEMPORAL_NAMESPACE (idempotent).
import { Connection } from '@temporalio/client';
import { temporalConnectionOptions } from '../config';
import { registerSearchAttributes } from '../temporal';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const connection = await Connection.connect(
    temporalConnectionOptions({
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TLS: process.env.TEMPORAL_TLS === 'true',
      TEMPORAL_API_KEY: process.env.TEMPORAL_API_KEY,
    }),
  );
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
