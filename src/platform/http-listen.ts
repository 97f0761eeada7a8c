import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

/** Starts an Express app and resolves with the server and its base URL once it listens. */
export function listen(app: Express, port: number, host = '127.0.0.1'): Promise<{ server: Server; url: string }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => {
      if (err) return reject(err);
      const address = server.address() as AddressInfo;
      resolve({ server, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}` });
    });
  });
}

/** Stops accepting connections and drops idle keep-alive ones, so shutdown does not hang. */
export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
