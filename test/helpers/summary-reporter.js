// Prints the plain closing line CI reads: `N passed, N failed` for the whole run, one line whatever the projects;
// after a full run (every project, no filter), writes docs/RELIABILITY.md from the rows the fault tests recorded
// (test/helpers/reliability.ts).
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { relative, resolve } = require('node:path');

const ROOT = resolve(__dirname, '../..');
const RESULTS = resolve(__dirname, '../.tmp/reliability.jsonl');
const DOC = resolve(ROOT, 'docs/RELIABILITY.md');

const cell = (v) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');

const figure = (v) => (v === null || v === undefined ? 'n/a' : String(v));

function table(rows, failedNames) {
  return [
    '| case | result | injected | times | expected | observed | events lost | emails lost | duplicate emails | reproduce |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${cell(r.case)} | ${failedNames.has(r.case) ? '**FAILED**' : 'passed'} | ${cell(r.injected)} | ${r.times} | ` +
        `${cell(r.expected)} | ${cell(r.observed)} | ${figure(r.eventsLost)} | ${figure(r.emailsLost)} | ` +
        `${figure(r.duplicateEmails)} | \`${cell(r.command)}\` |`,
    ),
  ];
}

function render(rows, failed, results) {
  const sum = (k) => rows.reduce((n, r) => n + (typeof r[k] === 'number' ? r[k] : 0), 0);
  const failedNames = new Set(failed.map((f) => f.name));
  // A failing case without a row (it failed before measuring) is still listed.
  const unrecorded = failed.filter((f) => !rows.some((r) => r.case === f.name));
  const byKind = (kind) => rows.filter((r) => (r.kind ?? 'fault') === kind);
  const lines = [
    '# Reliability',
    '',
    '<!-- Written by the test run (test/helpers/summary-reporter.js) from the rows the tests record; do not edit. -->',
    '',
    `Last full run: ${new Date().toISOString()} — ${results.numPassedTests} tests passed, ${
      results.numFailedTests + results.numRuntimeErrorTestSuites
    } failed. Every case runs against the real stack: Temporal, PostgreSQL, SMTP, the Unipile simulator over HTTP.`,
    '',
    'How the columns are counted (each case records its row before its assertions, so a failing case keeps its figures):',
    '',
    '- **events lost**: webhooks or cookie posts the API accepted that never reached the account, counted through the',
    '  public surface — the receipts `GET /api/receipts` lists, the `unipileStatus` signals in every run of the',
    "  account workflow's history, and `event_ignored` entries of the account's events (test/helpers/reliability.ts,",
    '  `EventLedger`). A dead or still-pending receipt counts as lost.',
    '- **emails lost** / **duplicate emails**: emails due that the SMTP peer never received, and copies received beyond',
    '  one per email, read from the SMTP peer the tests run.',
    '- **n/a**: the case sends no event or no email, so there is nothing to count.',
    '',
    `Totals: **${rows.length - rows.filter((r) => failedNames.has(r.case)).length}** cases passed, **${failed.length}** failed; ` +
      `events lost **${sum('eventsLost')}**, emails lost **${sum('emailsLost')}**, duplicate emails **${sum('duplicateEmails')}**.`,
    '',
    '## Faults injected for real',
    '',
    'Processes killed, ports closed, databases stopped, peers answering errors, clocks skewed.',
    '',
    ...table(byKind('fault'), failedNames),
    '',
    '## Abuse: one caller against shared capacity and state',
    '',
    ...table(byKind('abuse'), failedNames),
    '',
    '## Fuzzing: generated hostile requests',
    '',
    ...table(byKind('fuzz'), failedNames),
    '',
    ...(unrecorded.length
      ? [
          '## Failed before recording a row',
          '',
          '| case | message | reproduce |',
          '|---|---|---|',
          ...unrecorded.map((f) => `| ${cell(f.name)} | ${cell(f.message)} | \`npx jest ${f.file}\` |`),
          '',
        ]
      : []),
  ];
  return lines.join('\n');
}

class SummaryReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(contexts, results) {
    const failedCount = results.numFailedTests + results.numRuntimeErrorTestSuites;
    // Full: no path or name filter, and every jest project (unit, workflow, e2e) ran tests (`contexts` holds one per
    // project that did), so `npm run test:unit` or `--selectProjects` is a partial run.
    const projects = Math.max(1, (this.globalConfig.projects ?? []).length);
    const full = !this.globalConfig.testPathPattern && !this.globalConfig.testNamePattern && contexts.size >= projects;
    if (full && existsSync(RESULTS)) {
      const rows = readFileSync(RESULTS, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .sort((a, b) => (a.file + a.case).localeCompare(b.file + b.case));
      const failed = [];
      for (const file of results.testResults) {
        const source = readFileSync(file.testFilePath, 'utf8');
        if (!source.includes('recordReliability(')) continue;
        for (const t of file.testResults)
          if (t.status === 'failed')
            failed.push({
              name: t.fullName,
              file: relative(ROOT, file.testFilePath),
              message: (t.failureMessages[0] ?? '').split('\n')[0].slice(0, 200),
            });
      }
      writeFileSync(DOC, render(rows, failed, results));
    }
    process.stdout.write(`\n${results.numPassedTests} passed, ${failedCount} failed\n`);
  }
}
module.exports = SummaryReporter;
