import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL cluster that one test owns, on its own port, so it can be stopped and started for real without
 * touching the shared server. Built with initdb (trust auth, no fsync); run as the `postgres` user when the tests
 * run as root, as PostgreSQL refuses to run as root.
 */
export class OwnPostgres {
  readonly dir = mkdtempSync(join(tmpdir(), 'own-pg-'));
  private readonly data = join(this.dir, 'data');

  constructor(readonly port: number) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}`;
  }

  private run(command: string, args: string[]): void {
    const asRoot = userInfo().uid === 0;
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
    execFileSync(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  }

  init(): this {
    if (userInfo().uid === 0) execFileSync('chown', ['postgres:postgres', this.dir]);
    else chownSync(this.dir, userInfo().uid, userInfo().gid);
    this.run('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    return this;
  }

  start(): void {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
    this.run('pg_ctl', ['-D', this.data, '-o', options, '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start']);
  }

  /** An immediate stop: the server goes away as in a crash (clients see their connections cut). */
  stop(): void {
    this.run('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
