// The Temporal server of `npm run prod:local`: its databases beside the application's (created and migrated with
// temporal-sql-tool), its configuration, its command line and its namespace. The database password never appears
// in a command line or a file: the tools and the server read it from their environment.
import { chmodSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { Client as PgClient } from 'pg';
import { ConfigError } from '../src/platform/config';
import { pollUntil } from './toolkit/processes';

/** Written for this user only (0600), also when an earlier run left the file readable by others. */
export function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export function pgTarget(databaseUrl: string): PgTarget {
  const url = new URL(databaseUrl);
  if (!/^postgres(ql)?:$/.test(url.protocol)) throw new ConfigError('DATABASE_URL: must be a postgres:// URL here');
  return {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1),
  };
}

async function pgQuery(target: PgTarget, database: string, sql: string, params: unknown[] = []) {
  const client = new PgClient({ ...target, database });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * One temporal-sql-tool run. The password goes in its environment (SQL_PASSWORD, which the tool reads), never in
 * its arguments: any user of the machine can read a process's command line (`ps`).
 */
export function sqlToolCommand(
  serverDir: string,
  target: PgTarget,
  database: string,
  args: string[],
): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  return {
    file: join(serverDir, 'sql'),
    args: [
      ...['--plugin', 'postgres12', '--ep', target.host, '-p', String(target.port), '-u', target.user],
      ...['--db', database, ...args],
    ],
    env: { ...process.env, SQL_PASSWORD: target.password },
  };
}

/**
 * Temporal's own databases beside the application's, created and migrated idempotently with temporal-sql-tool:
 * created when missing, the base schema set when there is none, then every versioned update not yet applied.
 */
export async function ensureTemporalDatabases(serverDir: string, target: PgTarget): Promise<[string, string]> {
  const names: [string, string] = [`${target.database}_temporal`, `${target.database}_temporal_visibility`];
  for (const [name, schema] of [
    [names[0], 'temporal'],
    [names[1], 'visibility'],
  ] as const) {
    const sql = (...args: string[]) => {
      const command = sqlToolCommand(serverDir, target, name, args);
      execFileSync(command.file, command.args, { env: command.env, stdio: ['ignore', 'ignore', 'pipe'] });
    };
    const exists = await pgQuery(target, 'postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.length === 0) sql('create-database');
    const versioned = await pgQuery(target, name, "SELECT to_regclass('public.schema_version') AS t");
    if (!versioned[0]?.t) sql('setup-schema', '-v', '0.0');
    sql('update-schema', '-d', join(serverDir, 'schema/postgresql/v12', schema, 'versioned'));
  }
  return names;
}

/** One datastore of the server's configuration; the password is a template the server fills from its environment. */
function datastore(target: PgTarget, database: string, conns: number): string {
  return `
      sql:
        pluginName: "postgres12"
        databaseName: ${JSON.stringify(database)}
        connectAddr: ${JSON.stringify(`${target.host}:${target.port}`)}
        connectProtocol: "tcp"
        user: ${JSON.stringify(target.user)}
        password: {{ env "SQL_PASSWORD" | quote }}
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: "1h"`;
}

/** One of the server's services, on the frontend port plus its offset (membership ports 300 below). */
function serviceBlock(name: string, frontendPort: number, offset: number): string {
  return `
  ${name}:
    rpc:
      grpcPort: ${frontendPort + offset}
      membershipPort: ${frontendPort - 300 + offset}
      bindOnLocalHost: true${name === 'frontend' ? `\n      httpPort: ${frontendPort + 10}` : ''}`;
}

/**
 * The server's configuration. Ports of its services follow the frontend port (7233 → 7234 history, 7235 matching,
 * 7239 worker). The database password is not in it: the server reads it from its environment (SQL_PASSWORD, as
 * temporal-sql-tool does) through the config loader's templating, which `# enable-template` turns on, the way
 * Temporal's own docker.yaml does.
 */
export function serverConfig(
  target: PgTarget,
  databases: [string, string],
  frontendPort: number,
  dynamic: string,
): string {
  const store = (database: string, conns: number) => datastore(target, database, conns);
  const service = (name: string, offset: number) => serviceBlock(name, frontendPort, offset);
  return `# enable-template (the password below is read from the environment)
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:${store(databases[0], 20)}
    postgres-visibility:${store(databases[1], 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: "127.0.0.1:${frontendPort + 767}"
services:${service('frontend', 0)}${service('history', 1)}${service('matching', 2)}${service('worker', 6)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${frontendPort}"
dcRedirectionPolicy:
  policy: "noop"
dynamicConfigClient:
  filepath: ${JSON.stringify(dynamic)}
  pollInterval: "10s"
`;
}

// Workflow ids reach 255 characters (a LinkedIn connection's id carries a user id and a member id); search
// attributes are read right after they are registered.
export const DYNAMIC_CONFIG = `limit.maxIDLength:
  - value: 255
    constraints: {}
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
    constraints: {}
`;

/** The server process: its password in its environment (read by serverConfig's template), none in its arguments. */
export function serverCommand(
  serverDir: string,
  root: string,
  target: PgTarget,
): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  return {
    file: join(serverDir, 'server'),
    args: ['--root', root, '--config', 'config', '--env', 'production', '--allow-no-auth', 'start'],
    env: { ...process.env, SQL_PASSWORD: target.password },
  };
}

/** The namespace, registered when missing, then usable (a new namespace takes a few seconds to reach every service). */
export async function ensureNamespace(connection: Connection, namespace: string): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch {
    await connection.workflowService
      .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('7 days') })
      .catch((err: Error) => {
        if (!/already/i.test(err.message)) throw err;
      });
  }
  await pollUntil(
    async () => {
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      return true;
    },
    { timeoutMs: 31_000, everyMs: 500, what: `the namespace ${namespace}` },
  );
}
