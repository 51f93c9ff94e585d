import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: ['./subgraphs/*/db.ts', './workers/backup/db.ts'],
  out: './drizzle',
  schemaFilter: ['users', 'events', 'inventory', 'orders', 'notifications', 'backups'],
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/junction' },
  migrations: { schema: 'drizzle' },
});
