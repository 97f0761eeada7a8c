// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// Import boundaries. Each folder says what it may import; `npm run lint` reports an import that crosses a boundary
// (test/unit/lint-boundaries.test.ts proves it). ESLint matches the import as written, so a relative import is
// judged by how many `../` it climbs: the rules below are generated once per depth below each folder, which keeps
// `../activities` inside src/workflows (src/workflows/activities.ts) apart from src/activities.

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const climb = (levels) => (levels === 0 ? '\\./' : `(?:\\.\\./){${levels}}`);
/** A path below a folder as a regex; `*` stands for one folder name. */
const tail = (segments) => segments.map((s) => (s === '*' ? '[^/]+' : escape(s))).join('/') + '(?:/|$)';

/** How a file `depth` folders below `root` reaches `target` (both from the repository root): levels up, then down. */
function route(root, depth, target) {
  const from = root.split('/');
  const to = target.split('/');
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) common++;
  return { up: from.length - common + depth, down: to.slice(common) };
}

const NODE_BUILTINS = [...new Set(builtinModules.map((name) => name.split('/')[0]))];
const BUILTIN = `node:|(?:${NODE_BUILTINS.map(escape).join('|')})(?:/|$)`;
const packages = (names) => `^(?:${names.map(escape).join('|')})(?:/|$)`;

// Libraries that talk to the outside world (databases, mail, HTTP, logs, metrics, Unipile, Temporal's server side).
const IO_LIBRARIES = [
  'pg',
  'knex',
  'knex-pglite',
  '@electric-sql/pglite',
  'nodemailer',
  'express',
  'express-rate-limit',
  'helmet',
  'pino',
  'pino-pretty',
  'prom-client',
  'unipile-node-sdk',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];
const HTTP_LIBRARIES = ['express', 'express-rate-limit', 'helmet'];
const WORKFLOW_PACKAGES = ['@temporalio/workflow', '@temporalio/common', 'async-mutex'];

const SANDBOX = "Workflow code runs in Temporal's deterministic sandbox";
const NO_TOOLING = 'Product code does not import tests, benchmarks or developer tooling.';
const PRODUCT = { targets: ['test', 'bench', 'scripts'], message: NO_TOOLING };
const NO_HTTP =
  'Services, activities and background code do not speak HTTP: throw a domain error (src/platform/errors.ts); ' +
  'only src/api maps it to a status.';

/**
 * The boundaries, from the broadest folder to the narrowest (for a file in several, the last one applies, so each
 * repeats what it inherits). For `root`:
 *   mayImport   the only folders (beside its own) its relative imports may reach, `*` standing for one name,
 *               with `message`;
 *   typesFrom   folders it may import types from and nothing else, with `typesMessage`;
 *   mayNot      folders it must not import from (when there is no mayImport list), each group with its message;
 *   builtins    the message refusing Node's built-in modules, if they are refused;
 *   libraries   regexes over package names, each with its message and whether types may be imported.
 */
const BOUNDARIES = [
  {
    root: 'src',
    mayNot: [PRODUCT],
  },
  {
    // Services beside their data, activities, and the code that runs in the background.
    root: `src/{${['accounts', 'activities', 'backend-events', 'connections', 'email', 'inbound', 'linkedin', 'providers', 'reconcile', 'unipile', 'worker'].join(',')}}`,
    mayNot: [{ targets: ['src/api'], message: NO_HTTP }, PRODUCT],
    libraries: [{ regex: packages(HTTP_LIBRARIES), message: NO_HTTP }],
  },
  {
    // Every part uses the platform, so it uses no part: libraries, its own files, the migrations it runs, the
    // workflow contracts (type names, signals, ids, the default task queue) that its Temporal client and config name,
    // and src/common (pure checks it shares with the extension).
    root: 'src/platform',
    mayImport: ['src/workflows/*/contract', 'src/workflows/task-queues', 'migrations', 'src/common'],
    message:
      'src/platform imports only libraries, other platform files, src/common, migrations and workflow contracts.',
    // Its listen helper takes an Express app, by type only; the HTTP layer itself lives in src/api.
    libraries: [{ regex: packages(HTTP_LIBRARIES), message: NO_HTTP, allowTypeImports: true }],
  },
  {
    root: 'src/common',
    mayImport: [],
    message: 'src/common is shared with the browser extension: it imports only other src/common files.',
    builtins: 'src/common is shared with the browser extension: no Node built-ins.',
    libraries: [
      { regex: packages(IO_LIBRARIES), message: 'src/common is shared with the browser extension: no I/O libraries.' },
    ],
  },
  {
    root: 'src/workflows',
    mayImport: [],
    typesFrom: ['src/activities'],
    message: `${SANDBOX}: it imports only other workflow files (and activity types, with \`import type\`).`,
    typesMessage: `${SANDBOX}: it imports activities' types only (\`import type\`) and calls them through proxies.`,
    builtins: `${SANDBOX}: no Node built-ins.`,
    libraries: [
      {
        regex: `^(?!\\.|${BUILTIN}|${WORKFLOW_PACKAGES.map((name) => `${escape(name)}(?:/|$)`).join('|')})`,
        message: `${SANDBOX}: of packages it imports only ${WORKFLOW_PACKAGES.join(', ')}; I/O belongs in an activity.`,
      },
    ],
  },
  {
    root: 'extension/src',
    mayImport: ['src/common'],
    message: 'The browser extension imports only its own files and src/common.',
    libraries: [{ regex: '^(?!\\.)', message: 'The browser extension bundles no packages and no Node built-ins.' }],
  },
  {
    root: '{bench,scripts}',
    mayNot: [
      {
        targets: ['test'],
        message: 'Benchmarks and tooling do not import test helpers: shared pieces live in scripts/toolkit.',
      },
    ],
  },
];

// Deep enough for today's tree with room to grow; a deeper file would get no boundary rule.
const MAX_DEPTH = 6;

/** The no-restricted-imports patterns for a file `depth` folders below the boundary's root. */
function patternsAt(boundary, depth) {
  const patterns = [];
  if (boundary.builtins) patterns.push({ regex: `^(?:${BUILTIN})`, message: boundary.builtins });
  for (const library of boundary.libraries ?? []) patterns.push(library);
  if (boundary.mayImport) {
    // Leaving the root takes depth + 1 levels up; what follows must be an allowed folder.
    const allowed = [...boundary.mayImport, ...(boundary.typesFrom ?? [])].map((target) => {
      const { up, down } = route(boundary.root, depth, target);
      return `${'\\.\\./'.repeat(up - depth - 1)}${tail(down)}`;
    });
    const leaves = `^${climb(depth + 1)}${allowed.length ? `(?!${allowed.join('|')})` : ''}`;
    patterns.push({ regex: leaves, message: boundary.message });
  }
  for (const target of boundary.typesFrom ?? []) {
    const { up, down } = route(boundary.root, depth, target);
    patterns.push({ regex: `^${climb(up)}${tail(down)}`, message: boundary.typesMessage, allowTypeImports: true });
  }
  for (const { targets, message } of boundary.mayNot ?? []) {
    const reach = targets.map((target) => {
      const { up, down } = route(boundary.root, depth, target);
      return `${climb(up)}${tail(down)}`;
    });
    patterns.push({ regex: `^(?:${reach.join('|')})`, message });
  }
  return patterns;
}

const boundaryConfigs = BOUNDARIES.flatMap((boundary) =>
  Array.from({ length: MAX_DEPTH + 1 }, (_, depth) => ({
    files: [`${boundary.root}/${'*/'.repeat(depth)}*.ts`],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: patternsAt(boundary, depth) }],
    },
  })),
);

export default tseslint.config(
  { ignores: ['lib/**', 'node_modules/**', '.data/**', 'coverage/**', 'test/.tmp/**', '**/*.js', '*.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...boundaryConfigs,
  {
    // Workflow code runs in Temporal's deterministic sandbox, where console output repeats on every replay.
    files: ['src/workflows/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // Tests read untyped JSON answers.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
);
