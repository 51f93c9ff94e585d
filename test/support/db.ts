import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { connect, migrateDatabase, type DbHandle } from '../../common/db.ts';

const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase extends DbHandle {
  url: string;
  name: string;
  /** SQL statements sent through `db` since the last reset, when counting was asked for. */
  statements: string[];
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database of its own for one test file; drop() removes it.
 * `adminUrl`: the cluster to create it in (default the shared one, or TEST_ADMIN_DATABASE_URL).
 */
export async function createTestDatabase(label: string, adminUrl = ADMIN_URL): Promise<TestDatabase> {
  const name = `jt_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString());
  const statements: string[] = [];
  const handle = connect(url.toString(), { onQuery: (query) => statements.push(query) });
  return {
    ...handle,
    url: url.toString(),
    name,
    statements,
    async drop() {
      await handle.close();
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}
