import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The test tiers, by file name: `npm run test:unit|int|e2e` runs one, `npm test` all three.
 *
 * `isolate: false` runs a tier's files one after another in each worker process, loading the modules
 * once per worker instead of once per file: importing Apollo, BullMQ, OpenTelemetry and the rest took
 * about a third of the suite's time. A file must then leave no state behind (its servers, connections,
 * queues and databases closed or dropped); test/support/shared-worker.ts zeroes the metrics before each
 * file. The few files that change the process itself (tracing registers a global tracer provider and
 * patches modules) run in `int-isolated`, a fresh process each.
 */
const ISOLATED = ['test/tracing/**'];

const TIERS = {
  // No PostgreSQL or Redis (test/support/unit-guard.ts fails a test that connects to either): runs in seconds.
  unit: { include: ['**/*.test.ts'], exclude: ['**/*.int.test.ts', '**/*.e2e.test.ts'], setupFiles: ['test/support/unit-guard.ts'], isolate: true },
  // Real PostgreSQL, Redis, HTTP servers and processes, each test file on databases and queue prefixes of its own.
  int: { include: ['**/*.int.test.ts'], exclude: ISOLATED, setupFiles: ['test/support/shared-worker.ts'], isolate: false },
  'int-isolated': { include: ISOLATED.map((glob) => `${glob}/*.int.test.ts`), exclude: [], setupFiles: [], isolate: true },
  // The whole system as an operator starts it (npm start's launcher, its processes and ports).
  e2e: { include: ['**/*.e2e.test.ts'], exclude: [], setupFiles: [], isolate: true },
};

export default defineConfig({
  resolve: {
    // One graphql for the project's code and for the libraries: Node loads graphql's CommonJS
    // build, while Vite would pick its `module` build for our files, and graphql-js refuses a
    // schema made by the other copy ("Cannot use GraphQLSchema ... from another module or realm").
    alias: [{ find: /^graphql$/, replacement: fileURLToPath(new URL('./node_modules/graphql/index.js', import.meta.url)) }],
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Both cores (vitest's default leaves one idle on a 2-core machine): the suite waits on I/O and
    // child processes as much as on CPU. Measured on the 2-core CI machine: 434 s with 1 worker, 255 s with 2.
    maxWorkers: 2,
    // No backup schedules unless a test asks for them (workers/backup/test sets BACKUP_DUMP_EVERY_MS).
    env: { LOG_LEVEL: 'silent', NODE_ENV: 'test', BACKUP_DUMP_EVERY_MS: '0' },
    projects: Object.entries(TIERS).map(([name, { include, exclude, setupFiles, isolate }]) => ({
      extends: true,
      // examples/web has node_modules of its own (and its builds in dist-*/ while they run).
      test: { name, include, exclude: ['**/node_modules/**', 'dist/**', 'examples/web/dist*/**', ...exclude], setupFiles, isolate },
    })),
  },
});
