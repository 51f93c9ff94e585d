import { randomUUID } from 'node:crypto';
import { parseConfig, type Config } from '../../scripts/settings.ts';
import { connect, type DbHandle } from '../../common/db.ts';
import type { Listening } from '../../common/http.ts';
import { listenSubgraph } from '../../common/subgraph.ts';
import { createLogger } from '../../common/logger.ts';
import { createGateway, listenGateway } from '../../gateway/server.ts';
import { SUBGRAPHS, type SubgraphName } from '../../subgraphs/index.ts';
import { SERVICE_KEY_HEADER } from '../../common/auth.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { dropKeys } from './orders.ts';
import { startTestIdentity, type TestIdentity } from './identity.ts';

/** The service key of every test stack (the workers' identity for internal operations). */
const TEST_SERVICE_KEY = 'test-stack-service-key';

export type { SubgraphName };

export interface Stack {
  /** The stack's database (DATABASE_URL): every subgraph's, but those given databases of their own. */
  db: TestDatabase;
  /** The subgraphs' own databases (StackOptions.databases), each named in stack.config by its `<NAME>_DATABASE_URL`. */
  databases: Partial<Record<SubgraphName, TestDatabase>>;
  config: Config;
  /** Each started subgraph's /graphql URL. */
  urls: Partial<Record<SubgraphName, string>>;
  /** The gateway's /graphql URL. */
  gatewayUrl: string;
  /** The gateway's base URL (for /health and /ready). */
  gatewayBase: string;
  /** SQL statements each subgraph sent, for N+1 checks; clear with resetStatements(). */
  statements: Record<SubgraphName, string[]>;
  resetStatements(): void;
  /** The stack's identity provider (a test key served as a JWKS over HTTP). */
  identity: TestIdentity;
  /** Headers signing in as an admin (a fresh admin id per stack). */
  admin: Record<string, string>;
  /** Headers signing in as user `id` (roles: none unless given). */
  as(id: string, roles?: string[]): Promise<Record<string, string>>;
  /** Headers carrying the workers' service identity, for internal operations. */
  service: Record<string, string>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Environment overrides (e.g. ENRICHMENT_URL of a test partner). */
  env?: Record<string, string>;
  /** The PostgreSQL cluster to create the stack's database in (e.g. a PrivatePostgres); default the shared one. */
  adminUrl?: string;
  /**
   * Subgraphs that get a database of their own: for each, the cluster (an admin URL, e.g. a PrivatePostgres's) to
   * create it in. The subgraph connects to it, and stack.config names it in `<NAME>_DATABASE_URL`.
   */
  databases?: Partial<Record<SubgraphName, string>>;
}

/**
 * The whole supergraph in this process: a fresh database, every subgraph of
 * subgraphs/index.ts on a free port, and the gateway in front of them loading supergraph.graphql.
 */
export async function startStack(label: string, options: StackOptions = {}): Promise<Stack> {
  const db = await createTestDatabase(label, options.adminUrl);
  const own: Partial<Record<SubgraphName, TestDatabase>> = {};
  const ownSettings: Record<string, string> = {};
  const dropAll = async () => {
    for (const database of [db, ...Object.values(own)]) await database.drop().catch(() => {});
  };
  try {
    for (const { name, databaseSetting } of SUBGRAPHS) {
      const adminUrl = options.databases?.[name];
      if (!adminUrl) continue;
      own[name] = await createTestDatabase(`${label}_${name}`, adminUrl);
      ownSettings[databaseSetting] = own[name].url;
    }
  } catch (error) {
    await dropAll();
    throw error;
  }
  const identity = await startTestIdentity();
  const logger = createLogger(label, process.env.LOG_LEVEL ?? 'silent');
  // One ingest key and one service key for every service of the stack (unset, each would generate its own).
  // A generous gateway→subgraph timeout: on 2 cores shared by every test, a burst of 200 placeOrder can take
  // longer than the production default without any subgraph being down (test/federation/subgraph-outage sets its own).
  // No backup schedules in the workers a test starts on stack.config (workers/backup/test turns them on itself).
  // No rate limit unless a test asks for one: test files run at once from one address.
  // A queue prefix of its own, so a stack shares no BullMQ queue with another test or a developer's `npm start`.
  const baseEnv = {
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `jt-${label}-${randomUUID().slice(0, 8)}`,
    NODE_ENV: 'test',
    INGEST_API_KEY: 'test-stack-ingest-key',
    SERVICE_API_KEY: TEST_SERVICE_KEY,
    SUBGRAPH_TIMEOUT_MS: '30000',
    BACKUP_DUMP_EVERY_MS: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    ...identity.env,
    ...ownSettings,
    ...options.env,
  };
  const closers: (() => Promise<void>)[] = [() => identity.close()];
  const statements = Object.fromEntries(SUBGRAPHS.map(({ name }) => [name, [] as string[]])) as Record<SubgraphName, string[]>;
  const urls: Partial<Record<SubgraphName, string>> = {};
  const env: Record<string, string> = { ...baseEnv };

  try {
    for (const { name, urlSetting, load } of SUBGRAPHS) {
      const create = await load();
      const handle: DbHandle = connect(own[name]?.url ?? db.url, { onQuery: (query) => statements[name].push(query) });
      const subgraph = await create({ db: handle.db, config: parseConfig(baseEnv), logger: logger.child({ subgraph: name }) });
      // Its subscriptions' WebSockets too (orders).
      const http: Listening = await listenSubgraph(subgraph, 0);
      closers.push(async () => {
        await http.close();
        await subgraph.apollo.stop();
        await subgraph.close?.();
        await handle.close();
      });
      urls[name] = `${http.url}/graphql`;
      env[urlSetting] = urls[name]!;
    }
    const config = parseConfig(env);
    const gateway = await createGateway({ config, logger: logger.child({ service: 'gateway' }) });
    // Its subscriptions' WebSockets too.
    const gatewayHttp = await listenGateway(gateway, 0);
    closers.unshift(async () => {
      await gatewayHttp.close();
      await gateway.close();
    });
    const admin = await identity.headers(`admin-${label}`, ['admin']);
    return {
      db,
      databases: own,
      config,
      urls,
      gatewayUrl: `${gatewayHttp.url}/graphql`,
      gatewayBase: gatewayHttp.url,
      statements,
      resetStatements() {
        for (const list of Object.values(statements)) list.length = 0;
      },
      identity,
      admin,
      as: (id, roles = []) => identity.headers(id, roles),
      service: { [SERVICE_KEY_HEADER]: TEST_SERVICE_KEY },
      async close() {
        for (const close of closers) await close();
        for (const database of Object.values(own)) await database.drop();
        await db.drop();
        // Nothing of this stack's left in the shared Redis: its queues, schedulers' keys, APQ cache, and the keys of
        // anything the test ran under a prefix of its own derived from it (e.g. `<prefix>-board`). Only a test's own
        // prefix (jt-…), never a developer's.
        if (config.QUEUE_PREFIX.startsWith('jt-')) await dropKeys(config.REDIS_URL, `${config.QUEUE_PREFIX}*`);
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => {});
    await dropAll();
    throw error;
  }
}

export interface TestGateway {
  /** Its /graphql URL. */
  url: string;
  /** Its base URL (for /health, /ready, /metrics). */
  base: string;
  close(): Promise<void>;
}

/** Another real gateway on a free port, e.g. over a stack's subgraphs with some settings changed (`{ ...stack.config, ... }`). */
export async function startGateway(config: Config, label = 'test-gateway'): Promise<TestGateway> {
  const gateway = await createGateway({ config, logger: createLogger(label, process.env.LOG_LEVEL ?? 'silent') });
  const http = await listenGateway(gateway, 0);
  return {
    url: `${http.url}/graphql`,
    base: http.url,
    async close() {
      await http.close();
      await gateway.close();
    },
  };
}
