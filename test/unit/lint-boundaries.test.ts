import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// The import boundaries of eslint.config.mjs, as `npm run lint` applies them: small snippets linted at paths in each
// folder (the files need not exist). An allowed import passes; a forbidden one is an error with the rule's message.

const ROOT = join(__dirname, '..', '..');
const RULE = '@typescript-eslint/no-restricted-imports';

/** A snippet at a path, and the words of the message that must refuse it (none: it must pass). */
type Case = [path: string, code: string, refusedWith?: string];

const SANDBOX_ONLY = 'imports only other workflow files';
const ACTIVITY_TYPES = "imports activities' types only";
const NO_NODE = 'no Node built-ins';
const NO_IO = 'of packages it imports only';
const NO_HTTP = 'do not speak HTTP';
const PLATFORM = 'src/platform imports only';
const COMMON = 'imports only other src/common files';
const EXTENSION = 'imports only its own files and src/common';
const NO_TOOLING = 'Product code does not import tests';
const NO_TEST_HELPERS = 'do not import test helpers';

const CASES: Record<string, Case[]> = {
  'workflow code: other workflow files, the sandbox-safe packages, activity types; no Node, no I/O': [
    ['src/workflows/account/workflow.ts', "import { proxyActivities } from '@temporalio/workflow';"],
    ['src/workflows/account/workflow.ts', "import { ApplicationFailure } from '@temporalio/common';"],
    ['src/workflows/account/workflow.ts', "import { Mutex } from 'async-mutex';"],
    ['src/workflows/account/workflow.ts', "import { DEFAULT_TASK_QUEUE } from '../task-queues';"],
    // src/workflows/activities.ts, not src/activities: the depth tells them apart.
    ['src/workflows/account/workflow.ts', "import { bookkeepingActivities } from '../activities';"],
    ['src/workflows/account/workflow.ts', "import { reconcileScheduleId } from '../reconcile/contract';"],
    ['src/workflows/reconcile/workflow.ts', "import type { UnipileActivities } from '../../activities/unipile';"],
    ['src/workflows/reconcile/workflow.ts', "import { type UnipileActivities } from '../../activities/unipile';"],
    ['src/workflows/activities.ts', "import type { BookkeepingActivities } from '../activities/bookkeeping';"],
    ['src/workflows/index.ts', "export { accountWorkflow } from './account/workflow';"],
    [
      'src/workflows/reconcile/workflow.ts',
      "import { createUnipileActivities } from '../../activities/unipile';",
      ACTIVITY_TYPES,
    ],
    [
      'src/workflows/activities.ts',
      "import { createBookkeepingActivities } from '../activities/bookkeeping';",
      ACTIVITY_TYPES,
    ],
    ['src/workflows/account/workflow.ts', "import { readFileSync } from 'node:fs';", NO_NODE],
    ['src/workflows/account/workflow.ts', "import { randomUUID } from 'crypto';", NO_NODE],
    ['src/workflows/index.ts', "import { setTimeout } from 'timers/promises';", NO_NODE],
    ['src/workflows/account/workflow.ts', "import knex from 'knex';", NO_IO],
    ['src/workflows/account/workflow.ts', "import { Client } from '@temporalio/client';", NO_IO],
    ['src/workflows/account/workflow.ts', "import { Context } from '@temporalio/activity';", NO_IO],
    ['src/workflows/connection/workflow.ts', "import pino from 'pino';", NO_IO],
    ['src/workflows/connection/workflow.ts', "import { z } from 'zod';", NO_IO],
    ['src/workflows/account/workflow.ts', "import { loadConfig } from '../../platform/config';", SANDBOX_ONLY],
    ['src/workflows/account/workflow.ts', "import type { Config } from '../../platform/config';", SANDBOX_ONLY],
    ['src/workflows/account/workflow.ts', "import { app } from '../../api/app';", SANDBOX_ONLY],
    ['src/workflows/index.ts', "import { HttpError } from '../api/http/errors';", SANDBOX_ONLY],
    ['src/workflows/reconcile/rules.ts', "import { holds } from '../../reconcile/holds';", SANDBOX_ONLY],
    ['src/workflows/reconcile/rules.ts', "import { stack } from '../../../test/helpers/stack';", SANDBOX_ONLY],
  ],
  'services, activities and background code: no HTTP layer': [
    ['src/connections/custom-auth.ts', "import { DomainError } from '../platform/errors';"],
    ['src/connections/custom-auth.ts', "import { startConnection } from '../workflows/connection/contract';"],
    ['src/activities/unipile/account.ts', "import { UnipileApi } from '../../unipile/unipile-api';"],
    ['src/worker/main.ts', "import { createUnipileActivities } from '../activities/unipile';"],
    ['src/connections/custom-auth.ts', "import { HttpError } from '../api/http/errors';", NO_HTTP],
    ['src/connections/custom-auth.ts', "import type { ApiDeps } from '../api/http/deps';", NO_HTTP],
    ['src/linkedin/connections.ts', "import express from 'express';", NO_HTTP],
    ['src/activities/unipile/account.ts', "import { HttpError } from '../../api/http/errors';", NO_HTTP],
    ['src/reconcile/holds.ts', "import type { Request } from 'express';", NO_HTTP],
    ['src/inbound/inbound-events.ts', "import { buildApp } from '../api/app';", NO_HTTP],
    ['src/worker/main.ts', "import { routes } from '../api/backend/routes';", NO_HTTP],
  ],
  'the platform: libraries, its own files, migrations and workflow contracts': [
    ['src/platform/temporal-client.ts', "import { Client } from '@temporalio/client';"],
    ['src/platform/temporal-client.ts', "import { accountWorkflowId } from '../workflows/account/contract';"],
    ['src/platform/config.ts', "import { DEFAULT_TASK_QUEUE } from '../workflows/task-queues';"],
    ['src/platform/config.ts', "import { encrypt } from './cipher';"],
    ['src/platform/db.ts', "import * as core from '../../migrations/20261127000001_core';"],
    ['src/platform/http-listen.ts', "import type { Express } from 'express';"],
    ['src/platform/ids.ts', "export { storableText } from '../common/text';"],
    ['src/platform/db.ts', "import { accounts } from '../accounts/repository';", PLATFORM],
    ['src/platform/config.ts', "import { accountWorkflow } from '../workflows/account/workflow';", PLATFORM],
    ['src/platform/config.ts', "import { holds } from '../reconcile/holds';", PLATFORM],
    ['src/platform/errors.ts', "import { HttpError } from '../api/http/errors';", PLATFORM],
    ['src/platform/logger.ts', "import { run } from '../../scripts/toolkit/processes';", PLATFORM],
    ['src/platform/http-listen.ts', "import express from 'express';", NO_HTTP],
  ],
  'src/common, shared with the browser extension: no Node, no I/O, nothing outside src/common': [
    ['src/common/extension-api.ts', "import { z } from 'zod';"],
    ['src/common/extension-api.ts', "import { plainState } from './plain-state';"],
    ['src/common/plain-state.ts', "import { isIP } from 'node:net';", NO_NODE],
    ['src/common/plain-state.ts', "import pino from 'pino';", 'no I/O libraries'],
    ['src/common/extension-api.ts', "import { storableText } from '../platform/ids';", COMMON],
  ],
  'the browser extension: its own files and src/common only': [
    ['extension/src/popup.ts', "import { decideSync } from './sync-rules';"],
    ['extension/src/popup-words.ts', "import { plainState } from '../../src/common/plain-state';"],
    ['extension/src/background.ts', "import type { CookieBody } from '../../src/common/extension-api';"],
    ['extension/src/background.ts', "import { loadConfig } from '../../src/platform/config';", EXTENSION],
    ['extension/src/background.ts', "import { extensionManifest } from '../build';", EXTENSION],
    ['extension/src/background.ts', "import { stack } from '../../test/helpers/stack';", EXTENSION],
    ['extension/src/background.ts', "import { z } from 'zod';", 'bundles no packages'],
    ['extension/src/background.ts', "import { readFileSync } from 'node:fs';", 'bundles no packages'],
  ],
  'product code imports no tests or tooling; benchmarks and tooling import no tests': [
    ['src/api/backend/routes.ts', "import { loadConfig } from '../../platform/config';"],
    ['src/simulator/main.ts', "import express from 'express';"],
    ['bench/scenarios/cost.ts', "import { run } from '../../scripts/toolkit/processes';"],
    ['scripts/dev.ts', "import { main } from '../src/api/server';"],
    ['test/helpers/stack.ts', "import { buildApp } from '../../src/api/app';"],
    ['test/helpers/stack.ts', "import { run } from '../../scripts/toolkit/processes';"],
    ['src/api/backend/routes.ts', "import { stack } from '../../../test/helpers/stack';", NO_TOOLING],
    ['src/simulator/main.ts', "import { run } from '../../scripts/toolkit/processes';", NO_TOOLING],
    ['src/commands/migrate.ts', "import { settings } from '../../bench/settings';", NO_TOOLING],
    ['src/connections/sweep.ts', "import { stack } from '../../test/helpers/stack';", NO_TOOLING],
    ['bench/run.ts', "import { run } from '../test/helpers/processes';", NO_TEST_HELPERS],
    ['bench/scenarios/cost.ts', "import { waitFor } from '../../test/helpers/temporal-dev-server';", NO_TEST_HELPERS],
    ['scripts/toolkit/temporal.ts', "import { stack } from '../../test/helpers/stack';", NO_TEST_HELPERS],
  ],
};

interface Message {
  ruleId: string | null;
  severity: number;
  message: string;
}
interface Linted {
  projectService: unknown;
  severity: unknown;
  results: Message[][];
}

// ESLint loads eslint.config.mjs with a dynamic import, which jest's module sandbox does not allow: the snippets are
// linted in one plain Node process. It uses the real config with one change: typed linting finds only files a tsconfig
// includes, so the snippets at made-up paths are parsed without types and only the boundary rule runs.
const LINT = `
const { ESLint } = require('eslint');
const { join } = require('node:path');
(async () => {
  const { root, rule, cases } = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
  const real = await new ESLint({ cwd: root }).calculateConfigForFile(join(root, 'src/workflows/index.ts'));
  const eslint = new ESLint({
    cwd: root,
    overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
    ruleFilter: ({ ruleId }) => ruleId === rule,
  });
  const results = [];
  for (const [path, code] of cases) {
    const [result] = await eslint.lintText(code + '\\nexport {};\\n', { filePath: join(root, path) });
    results.push(result.messages.map(({ ruleId, severity, message }) => ({ ruleId, severity, message })));
  }
  const { projectService } = real.languageOptions.parserOptions;
  process.stdout.write(JSON.stringify({ projectService, severity: real.rules[rule][0], results }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

let linted: Linted;
let lintedCases: Case[];

beforeAll(() => {
  lintedCases = Object.values(CASES).flat();
  const input = JSON.stringify({ root: ROOT, rule: RULE, cases: lintedCases });
  const output = execFileSync(process.execPath, ['-e', LINT], { cwd: ROOT, input, encoding: 'utf8' });
  linted = JSON.parse(output) as Linted;
});

describe('import boundaries in npm run lint', () => {
  test('the real config lints with types and the boundary rule is an error', () => {
    expect(linted.projectService).toBe(true);
    expect(linted.severity).toBe(2);
  });

  test.each(Object.keys(CASES))('%s', (title) => {
    for (const [path, code, refusedWith] of CASES[title] ?? []) {
      const messages = linted.results[lintedCases.findIndex((c) => c[0] === path && c[1] === code)];
      const expected = refusedWith
        ? [{ ruleId: RULE, severity: 2, message: expect.stringContaining(refusedWith) }]
        : [];
      expect({ path, code, messages }).toEqual({ path, code, messages: expected });
    }
  });
});
