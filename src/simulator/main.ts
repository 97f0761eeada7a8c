// npm run simulator: the Unipile simulator on its own (SIMULATOR_PORT, default 4010; UNIPILE_API_KEY).
import { UnipileSimulator } from './unipile-simulator';

const sim = new UnipileSimulator({
  apiKey: process.env.UNIPILE_API_KEY ?? 'simulator-key',
  port: Number(process.env.SIMULATOR_PORT ?? 4010),
});
sim.start().then(
  (url) =>
    console.log(
      `Unipile simulator on ${url} (X-API-KEY: ${process.env.UNIPILE_API_KEY ? 'from UNIPILE_API_KEY' : 'simulator-key'})`,
    ),
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void sim.stop().then(() => process.exit(0)));
