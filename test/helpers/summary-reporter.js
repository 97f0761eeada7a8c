// Prints the plain closing line CI reads: `N passed, N failed` for the whole run, one line whatever the projects;
// after a full run (every project, no filter), writes docs/RELIABILITY.md from the rows the fault tests recorded
// (test/helpers/reliability.ts).
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { relative, resolve } = require('node:path');

const ROOT = resolve(__dirname, '../..');
const RESULTS = resolve(__dirname, '../.tmp/reliability.jsonl');
const DOC = resolve(ROOT, 'docs/RELIABILITY.md');

const cell = (v) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function render(rows, failed, results) {
  const lost = (k) => rows.reduce((n, r) => n + r[k], 0);
  const lines = [
    '# Reliability',
    '',
    '<!-- Written by the test run (test/helpers/summary-reporter.js) from the rows the fault tests record; do not edit. -->',
    '',
    `Last full run: ${new Date().toISOString()} — ${results.numPassedTests} tests passed, ${
      results.numFailedTests + results.numRuntimeErrorTestSuites
    } failed. Every fault below was injected for real (processes killed, ports closed, peers answering errors) ` +
      'against the real stack: Temporal dev server, PostgreSQL, SMTP, the Unipile simulator over HTTP.',
    '',
    `Totals: **${rows.length}** cases passed, **${failed.length}** failed; events lost **${lost('eventsLost')}**, ` +
      `emails lost **${lost('emailsLost')}**, duplicate emails **${lost('duplicateEmails')}**.`,
    '',
    '| case | injected | times | expected | observed | events lost | emails lost | duplicate emails | reproduce |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${cell(r.case)} | ${cell(r.injected)} | ${r.times} | ${cell(r.expected)} | ${cell(r.observed)} | ` +
        `${r.eventsLost} | ${r.emailsLost} | ${r.duplicateEmails} | \`${cell(r.command)}\` |`,
    ),
    ...failed.map((f) => `| ${cell(f.name)} | | | | **FAILED**: ${cell(f.message)} | | | | \`npx jest ${f.file}\` |`),
    '',
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
