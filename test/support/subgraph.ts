import { afterAll, beforeAll } from 'vitest';
import { parseConfig } from '../../common/config.ts';
import { listen, type Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import type { SubgraphFactory } from '../../common/subgraph-module.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { signedIn } from './graphql.ts';
import { startTestIdentity, type TestIdentity } from './identity.ts';

/** What a subgraph test file works with; set in its beforeAll (read them inside tests and hooks). */
export interface SubgraphTest {
  /** The file's test identity provider (its env signs the subgraph's config). */
  idp: TestIdentity;
  /** An admin's Authorization, which gql and gqlData send unless a call sends its own. */
  admin: Record<string, string>;
  /** The file's own database. */
  database: TestDatabase;
  /** The subgraph's /graphql on a free port (when the file gave a factory). */
  url: string;
  gql: ReturnType<typeof signedIn>['gql'];
  gqlData: ReturnType<typeof signedIn>['gqlData'];
}

/**
 * The setup every subgraph test file shares, with its hooks: a test identity
 * provider, an admin's token, a database of its own named `label`, and, given
 * `create`, that subgraph served from `parseConfig(idp.env)` (logs silent).
 * Everything is closed in afterAll.
 */
export function subgraphTest(label: string, create?: SubgraphFactory): SubgraphTest {
  const test = { admin: {}, url: '' } as SubgraphTest;
  Object.assign(test, signedIn(() => test.admin));
  let http: Listening | undefined;
  beforeAll(async () => {
    test.idp = await startTestIdentity();
    test.admin = await test.idp.headers('test-admin', ['admin']);
    test.database = await createTestDatabase(label);
    if (!create) return;
    const { app } = await create({ db: test.database.db, config: parseConfig({ ...test.idp.env }), logger: createLogger(label, 'silent') });
    http = await listen(app, 0);
    test.url = `${http.url}/graphql`;
  });
  afterAll(async () => {
    await test.idp?.close();
    await http?.close();
    await test.database?.drop();
  });
  return test;
}
