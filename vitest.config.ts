import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // One graphql for the project's code and for the libraries: Node loads graphql's CommonJS
    // build, while Vite would pick its `module` build for our files, and graphql-js refuses a
    // schema made by the other copy ("Cannot use GraphQLSchema ... from another module or realm").
    alias: [{ find: /^graphql$/, replacement: fileURLToPath(new URL('./node_modules/graphql/index.js', import.meta.url)) }],
  },
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Both cores (vitest's default leaves one idle on a 2-core machine): the suite waits on I/O and
    // child processes as much as on CPU. Measured on the 2-core CI machine: 434 s with 1 worker, 255 s with 2.
    maxWorkers: 2,
    // No backup schedules unless a test asks for them (workers/backup/test sets BACKUP_DUMP_EVERY_MS).
    env: { LOG_LEVEL: 'silent', NODE_ENV: 'test', BACKUP_DUMP_EVERY_MS: '0' },
  },
});
