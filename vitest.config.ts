import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // No backup schedules unless a test asks for them (workers/backup/test sets BACKUP_DUMP_EVERY_MS).
    env: { LOG_LEVEL: 'silent', NODE_ENV: 'test', BACKUP_DUMP_EVERY_MS: '0' },
  },
});
