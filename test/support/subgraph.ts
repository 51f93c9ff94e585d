import { afterAll, afterEach, beforeAll } from 'vitest';
import { parseConfig, type Config } from '../../scripts/settings.ts';
import type { Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import type { SubgraphDeps, SubgraphFactory } from '../../common/subgraph-module.ts';
import { listenSubgraph, type SubgraphApp } from '../../common/subgraph.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { signedIn } from './graphql.ts';
import { startTestIdentity, type TestIdentity } from './identity.ts';
import { startScriptedPartner, type PartnerAnswer, type ScriptedPartner } from './partner-server.ts';
import { randomUUID } from 'node:crypto';
import { dropKeys } from './orders.ts';

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
  /** The file's own QUEUE_PREFIX (`jt-<label>-…`), its keys dropped in afterAll. */
  queuePrefix: string;
  gql: ReturnType<typeof signedIn>['gql'];
  gqlData: ReturnType<typeof signedIn>['gqlData'];
}

/**
 * The setup every subgraph test file shares, with its hooks: a test identity
 * provider, an admin's token, a database of its own named `label`, and, given
 * `create`, that subgraph served from `parseConfig(idp.env)` (logs silent).
 * Everything is closed in afterAll.
 */
export function subgraphTest(label: string, create?: SubgraphFactory<Config>): SubgraphTest {
  const test = { admin: {}, url: '', queuePrefix: '' } as SubgraphTest;
  Object.assign(
    test,
    signedIn(() => test.admin),
  );
  let http: Listening | undefined;
  let subgraph: Awaited<ReturnType<SubgraphFactory>> | undefined;
  // A queue prefix of its own (a subgraph that opens a queue, as notifications' retryNotification does, opens it there).
  test.queuePrefix = `jt-${label.replace(/\W+/g, '-')}-${randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    test.idp = await startTestIdentity();
    test.admin = await test.idp.headers('test-admin', ['admin']);
    test.database = await createTestDatabase(label);
    if (!create) return;
    subgraph = await create({
      db: test.database.db,
      config: parseConfig({ ...test.idp.env, QUEUE_PREFIX: test.queuePrefix }),
      logger: createLogger(label, 'silent'),
    });
    http = await listenSubgraph(subgraph, 0);
    test.url = `${http.url}/graphql`;
  });
  afterAll(async () => {
    await test.idp?.close();
    await http?.close();
    await subgraph?.close?.();
    await test.database?.drop();
    await dropKeys(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', `${test.queuePrefix}*`);
  });
  return test;
}

/** A subgraph test's setup with a scripted outside service, and subgraphs started per test against it. */
export interface PartnerSubgraphTest<S> extends SubgraphTest {
  /** The scripted partner; after each test its calls are cleared and it answers `answer` again. */
  partner: ScriptedPartner;
  /** A subgraph of its own (so breakers of its own) wired from configuration alone, as index.ts runs it, on a free port; stopped after the test. */
  start(env?: Record<string, string>): Promise<{ url: string; base: string; subgraph: S }>;
}

/**
 * subgraphTest's setup plus a scripted partner that `setting` (e.g. `ENRICHMENT_URL`) points the
 * subgraphs at: `start(env)` builds one from `parseConfig({ ...idp.env, [setting]: partner.url, NODE_ENV: 'test', ...env })`.
 */
export function partnerSubgraphTest<S extends SubgraphApp & { close(): Promise<void> }>(
  label: string,
  create: (deps: SubgraphDeps<Config>) => Promise<S>,
  { setting, answer }: { setting: string; answer: PartnerAnswer },
): PartnerSubgraphTest<S> {
  const test = subgraphTest(label) as PartnerSubgraphTest<S>;
  const running: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    test.partner = await startScriptedPartner();
  });
  afterEach(async () => {
    for (const stop of running.splice(0)) await stop();
    test.partner.calls.length = 0;
    test.partner.script();
    test.partner.answer(answer);
  });
  afterAll(async () => {
    await test.partner?.close();
  });
  test.start = async (env = {}) => {
    const config = parseConfig({ ...test.idp.env, QUEUE_PREFIX: test.queuePrefix, [setting]: test.partner.url, NODE_ENV: 'test', ...env });
    const subgraph = await create({ db: test.database.db, config, logger: createLogger(label, 'silent') });
    const http = await listenSubgraph(subgraph, 0);
    running.push(async () => {
      await http.close();
      await subgraph.apollo.stop();
      await subgraph.close();
    });
    return { url: `${http.url}/graphql`, base: http.url, subgraph };
  };
  return test;
}
