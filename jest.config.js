// Three test speeds, one jest project each (issue 17 item 5). `npm test` runs all three; `npm run test:<name>`
// selects one (`jest --selectProjects <name>`). A project's globalSetup runs only when one of its tests is
// selected, and jest runs a globalSetup module once however many projects share it: the workflow and e2e
// projects share one Temporal dev server and one workflow bundle, the unit project starts nothing.
const project = (name, extra) => ({
  displayName: name,
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  ...extra,
});
const temporal = {
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    // Seconds, no Temporal, no PostgreSQL, no Go: state machine, rules, tokens, config, schemas, docs.
    project('unit', { testMatch: ['<rootDir>/test/unit/**/*.test.ts'] }),
    // The real workflow code on a Temporal dev server: stub activities, replay fixtures (no PostgreSQL).
    project('workflow', { testMatch: ['<rootDir>/test/workflow/**/*.test.ts'], ...temporal }),
    // The whole stack: PostgreSQL, Temporal, SMTP, the simulator, the API; faults, abuse, browser, topology.
    project('e2e', { testMatch: ['<rootDir>/test/integration/**/*.test.ts'], ...temporal }),
  ],
  // Global options: they apply to the run, whichever projects are selected.
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
  testTimeout: 120000,
  maxWorkers: 2,
};
