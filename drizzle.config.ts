import { defineConfig } from 'drizzle-kit';
import { SUBGRAPHS } from './subgraphs/index.ts';

export default defineConfig({
  dialect: 'postgresql',
  schema: ['./subgraphs/*/db.ts', './workers/backup/db.ts'],
  out: './drizzle',
  // Each subgraph's own PostgreSQL schema, from its module, and the backup worker's ledger.
  schemaFilter: [...SUBGRAPHS.map((s) => s.pgSchema), 'backups'],
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/junction' },
  migrations: { schema: 'drizzle' },
});
