import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';
import { configSchema } from '../../src/config';
import { configTable, isRequired, TABLE_END, TABLE_START } from '../../src/config-docs';

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

describe('README configuration table', () => {
  test('matches the configuration schema (regenerate with npm run docs:config)', () => {
    const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf(TABLE_START) + TABLE_START.length, readme.indexOf(TABLE_END));
    expect(cells(section)).toEqual(cells(configTable()));
    expect(cells(section)).toHaveLength(Object.keys(configSchema.shape).length + 1);
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
    expect(compose.services.worker.command).toEqual(['node', 'lib/src/worker.js']);
  });
});
