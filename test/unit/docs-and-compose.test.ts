import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';
import { configSchema } from '../../src/platform/config';
import { configTable, isRequired, TABLE_END, TABLE_START } from '../../src/platform/config-docs';
import { serverCommand, serverConfig, sqlToolCommand, writePrivate } from '../../scripts/prod-local';

const root = resolve(__dirname, '../..');
const cells = (table: string) =>
  table
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .map((line) =>
      line
        .split('|')
        .map((c) => c.trim())
        .filter(Boolean),
    );

describe('docs/CONFIGURATION.md configuration table', () => {
  test('matches the configuration schema (regenerate with npm run docs:config)', () => {
    const doc = readFileSync(resolve(root, 'docs/CONFIGURATION.md'), 'utf8');
    expect(doc).toContain(TABLE_START);
    const section = doc.slice(doc.indexOf(TABLE_START) + TABLE_START.length, doc.indexOf(TABLE_END));
    expect(cells(section)).toEqual(cells(configTable()));
    expect(cells(section)).toHaveLength(Object.keys(configSchema.shape).length + 1);
  });
});

/** Markdown without its fenced code blocks, where `# x` is not a heading. */
const unfenced = (markdown: string) => markdown.replace(/^[ \t]*(```|~~~)[^\n]*\n[\s\S]*?^[ \t]*\1[^\n]*$/gm, '');
/** ... and without inline code spans either, where `[x](y)` is not a link. */
const prose = (markdown: string) => unfenced(markdown).replace(/`[^`\n]*`/g, '');

/** GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of unfenced(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = match[1]!.replace(/<[^>]*>/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

describe('README.md and docs/ link only inside the repository, to files and headings that exist', () => {
  const documents = [
    resolve(root, 'README.md'),
    ...readdirSync(resolve(root, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .map((name) => resolve(root, 'docs', name)),
  ];

  test.each(documents.map((path) => [relative(root, path), path]))('%s', (_name, path) => {
    const text = readFileSync(path, 'utf8');
    const broken: string[] = [];
    for (const match of prose(text).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = match[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not a file
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file === '' ? path : resolve(dirname(path), decodeURIComponent(file));
      if (relative(root, resolved).startsWith('..')) broken.push(`${target}: outside the repository`);
      else if (!existsSync(resolved)) broken.push(`${target}: no such file`);
      else if (
        anchor !== undefined &&
        !(statSync(resolved).isFile() && anchors(readFileSync(resolved, 'utf8')).has(anchor))
      )
        broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });

  test('no file in README.md, docs/, src/, test/, scripts/, bench/ or extension/ refers to a document outside the repository', () => {
    // Spelled in pieces so this file does not name what it looks for.
    const outside = [['..', 'shared'].join('/'), ['SPEC', '§'].join(' '), ['unipile-api', 'md'].join('.')];
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
      );
    const searched = [
      resolve(root, 'README.md'),
      ...['docs', 'src', 'test', 'scripts', 'bench', 'extension/src', 'extension/static'].flatMap((dir) =>
        files(resolve(root, dir)),
      ),
    ].filter((path) => !/[\\/](\.tmp|results)[\\/]/.test(path));
    expect(searched.length).toBeGreaterThan(10);
    const mentioning = searched
      .filter((path) => statSync(path).size < 5_000_000)
      .filter((path) => outside.some((text) => readFileSync(path, 'utf8').includes(text)))
      .map((path) => relative(root, path));
    expect(mentioning).toEqual([]);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(resolve(root, 'docker-compose.yml'), 'utf8'), { merge: true });
  const known = Object.keys(configSchema.shape);
  const required = Object.entries(configSchema.shape)
    .filter(([, schema]) => isRequired(schema as z.ZodTypeAny))
    .map(([name]) => name);

  test.each(['api', 'worker'])('%s sets only known variables and every required one', (service) => {
    const env = Object.keys(compose.services[service].environment);
    expect(env.filter((name) => !known.includes(name))).toEqual([]);
    expect(required.filter((name) => !env.includes(name))).toEqual([]);
  });

  test('has PostgreSQL, Temporal with its set-up and UI, Mailpit, the API and the worker', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining([
        'postgresql',
        'temporal-admin-tools',
        'temporal',
        'temporal-setup',
        'temporal-ui',
        'mailpit',
        'api',
        'worker',
      ]),
    );
    expect(compose.services.api.command).toEqual(['node', 'lib/src/api/server.js']);
    expect(compose.services.worker.command).toEqual(['node', 'lib/src/worker/main.js']);
  });
});

describe('docker-compose.yml exposes nothing to the network and holds no secret', () => {
  const text = readFileSync(resolve(root, 'docker-compose.yml'), 'utf8');
  const compose = parse(text, { merge: true });
  const services = Object.entries(compose.services as Record<string, any>);
  // A value taken whole from the environment (`${NAME}`, `${NAME:?message}`), never written into the file.
  const fromEnv = /^\$\{[A-Z0-9_]+(:?[?-][^}]*)?\}$/;

  test('every published port is bound to 127.0.0.1 (Temporal, its UI and Mailpit have no authentication)', () => {
    const published = services.flatMap(([name, s]) => ((s.ports ?? []) as unknown[]).map((p) => ({ name, port: p })));
    expect(published.length).toBeGreaterThan(0);
    const open = published.filter(({ port }) =>
      typeof port === 'object' && port !== null
        ? (port as { host_ip?: string }).host_ip !== '127.0.0.1'
        : !/^127\.0\.0\.1:\d+:\d+(\/(tcp|udp))?$/.test(String(port)),
    );
    expect(open).toEqual([]);
  });

  test('no password, secret or token is written in the file: each comes from the environment', () => {
    const literal: string[] = [];
    for (const [name, s] of services) {
      const env = (s.environment ?? {}) as Record<string, unknown>;
      for (const [key, value] of Object.entries(env)) {
        const v = String(value);
        if (/PASSWORD|PWD|SECRET|TOKEN|API_KEY|ENCRYPTION_KEY/.test(key) && !fromEnv.test(v))
          literal.push(`${name}.${key}`);
        // Credentials inside a URL (postgres://user:password@host, smtp://user:password@host).
        const userinfo = /^[a-z0-9+]+:\/\/[^/:@]*:([^@]*)@/i.exec(v);
        if (userinfo && !fromEnv.test(userinfo[1]!)) literal.push(`${name}.${key} (in the URL)`);
      }
    }
    expect(literal).toEqual([]);
  });

  test('the files it mounts set no literal password either', () => {
    const mounted = services
      .flatMap(([, s]) => (s.volumes ?? []) as string[])
      .filter((v) => typeof v === 'string' && v.startsWith('./'))
      .map((v) => resolve(root, v.split(':')[0]!))
      .filter((path) => statSync(path).isFile());
    expect(mounted.length).toBeGreaterThan(0);
    for (const path of mounted)
      expect([path, readFileSync(path, 'utf8')]).not.toEqual([path, expect.stringMatching(/PASSWORD\s+'[^']+'/i)]);
  });

  test('every variable it requires is listed in .env.example', () => {
    const needed = [...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!);
    expect(needed).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD', 'API_TOKEN']));
    const example = readFileSync(resolve(root, '.env.example'), 'utf8');
    const listed = [...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect([...new Set(needed)].filter((name) => !listed.includes(name))).toEqual([]);
  });
});

describe('deploy/ (systemd)', () => {
  test.each(['unipile-keeper-api@.service', 'unipile-keeper-worker@.service'])(
    '%s runs in production mode and keeps what it writes private',
    (unit) => {
      const text = readFileSync(resolve(root, 'deploy', unit), 'utf8');
      expect(text).toMatch(/^Environment=NODE_ENV=production$/m);
      expect(text).toMatch(/^UMask=0077$/m);
    },
  );
});

describe('prod:local keeps the database password off command lines and out of readable files', () => {
  const target = { host: '127.0.0.1', port: 5432, user: 'keeper', password: 'pw-S3cret-9f2c', database: 'keeper' };

  test('temporal-sql-tool gets it from its environment, not its arguments (which ps shows)', () => {
    const command = sqlToolCommand('/opt/temporal', target, 'keeper_temporal', ['setup-schema', '-v', '0.0']);
    expect(command.args.join(' ')).not.toContain(target.password);
    expect(command.args).not.toContain('--pw');
    expect(command.args).toEqual(expect.arrayContaining(['--db', 'keeper_temporal', 'setup-schema']));
    expect(command.env.SQL_PASSWORD).toBe(target.password);
  });

  test("the server's configuration names the variable, not the password; the server gets it in its environment", () => {
    const text = serverConfig(target, ['keeper_temporal', 'keeper_temporal_visibility'], 7233, '/d/dynamic.yaml');
    expect(text).not.toContain(target.password);
    expect(text.split('\n')[0]).toContain('enable-template');
    expect(text.match(/password: \{\{ env "SQL_PASSWORD" \| quote \}\}/g)).toHaveLength(2);
    const launch = serverCommand('/opt/temporal', '/state/temporal', target);
    expect(launch.args.join(' ')).not.toContain(target.password);
    expect(launch.env.SQL_PASSWORD).toBe(target.password);
  });

  test('the files it writes are 0600, also over a file an earlier run left readable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prod-local-'));
    try {
      const path = join(dir, 'production.yaml');
      writeFileSync(path, 'old', { mode: 0o644 });
      chmodSync(path, 0o644);
      writePrivate(path, 'new');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readFileSync(path, 'utf8')).toBe('new');
      writePrivate(join(dir, 'fresh.yaml'), 'x');
      expect(statSync(join(dir, 'fresh.yaml')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
