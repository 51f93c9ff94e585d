/**
 * The processes of the floor scenario (bench/scenarios/floor.ts), one role
 * each: `node --import tsx bench/floor-roles.ts <role>`, forked with an IPC
 * channel. A server role answers `{ ready, port }` once it listens; a load role
 * waits for `{ load: n }`, runs n operations with the scenario's concurrency
 * in flight and answers `{ done, ms }`; the BullMQ worker answers `{ reached }`
 * once it has completed as many jobs in all as `{ expect: n }` said.
 *
 * Settings come from the environment the scenario gives: FLOOR_CONCURRENCY,
 * FLOOR_PREFIX (BullMQ), FLOOR_URL (the server a client calls),
 * FLOOR_DATABASE_URL, REDIS_URL.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job } from 'bullmq';
import { parseConfig } from '../scripts/settings.ts';
import { createLogger } from '../common/logger.ts';

// Each role imports only what it uses (below, with import()): loading every library in every process would take seconds of CPU each.

type Message = { load?: number; expect?: number; stop?: true };

const CONCURRENCY = Number(process.env.FLOOR_CONCURRENCY ?? 20);
const config = parseConfig(process.env);
const logger = createLogger('floor', 'silent');

function send(message: Record<string, unknown>): void {
  process.send!(message);
}

function onMessage(handle: (message: Message) => void | Promise<void>): void {
  process.on('message', (message: Message) => {
    if (message.stop) process.exit(0);
    Promise.resolve(handle(message)).catch((error) => {
      send({ error: String((error as Error)?.stack ?? error) });
    });
  });
}

/** Runs `once` n times with CONCURRENCY calls in flight; ms of wall time. */
async function inFlight(n: number, once: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, n) }, async () => {
      for (let i = next++; i < n; i = next++) await once(i);
    }),
  );
  return performance.now() - started;
}

/** Load roles: `{ load: n }` → run → `{ done, ms }`. */
function loadRole(once: (i: number) => Promise<void>): void {
  onMessage(async ({ load }) => {
    if (load === undefined) return;
    send({ done: true, ms: await inFlight(load, once) });
  });
  send({ ready: true });
}

function listening(server: { address(): AddressInfo | string | null }): void {
  send({ ready: true, port: (server.address() as AddressInfo).port });
}

/** A tiny federated subgraph: one query, one mutation shaped like inventory's reserveStock. */
const TINY_TYPE_DEFS = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Reservation { outcome: String! }
  type Query { ping: String! }
  type Mutation { reserveStock(orderId: ID!, productId: ID!, quantity: Int!): Reservation! }
`;

const tinyResolvers = {
  Query: { ping: () => 'pong' },
  Mutation: { reserveStock: () => ({ outcome: 'RESERVED' }) },
};

const RESERVE = `mutation ReserveStock($orderId: ID!, $productId: ID!, $quantity: Int!) {
  reserveStock(orderId: $orderId, productId: $productId, quantity: $quantity) { outcome }
}`;

/** The body a client posts: the reserveStock mutation with fresh variables, as the order worker sends inventory. */
function reserveBody(): string {
  return JSON.stringify({ query: RESERVE, variables: { orderId: randomUUID(), productId: 'SKU-floor', quantity: 1 } });
}

/** What the Apollo Server roles share. */
async function apolloServerLibraries() {
  const [{ ApolloServer }, { ApolloServerPluginLandingPageDisabled }, { buildSubgraphSchema }, { expressMiddleware }, { default: express }, { parse }] =
    await Promise.all([
      import('@apollo/server'),
      import('@apollo/server/plugin/disabled'),
      import('@apollo/subgraph'),
      import('@as-integrations/express5'),
      import('express'),
      import('graphql'),
    ]);
  return { ApolloServer, ApolloServerPluginLandingPageDisabled, buildSubgraphSchema, expressMiddleware, express, parse };
}

const roles: Record<string, () => Promise<void>> = {
  /** BullMQ Worker on `orders` with the order worker's options; the processor does nothing. */
  async 'bullmq-worker'() {
    const [{ Worker }, { workerSettings }, { createRedis }, { ordersQueue }, { PAUSABLE }] = await Promise.all([
      import('bullmq'),
      import('../common/queues.ts'),
      import('../common/redis.ts'),
      import('../subgraphs/orders/jobs.ts'),
      import('../workers/pause.ts'),
    ]);
    const connection = createRedis(config.REDIS_URL, { role: 'worker', logger, name: 'floor-worker' });
    let completed = 0;
    let expected = Number.POSITIVE_INFINITY;
    const worker = new Worker(ordersQueue.name, async (_job: Job) => ({ ok: true }), {
      ...PAUSABLE,
      connection,
      prefix: process.env.FLOOR_PREFIX!,
      concurrency: config.ORDER_CONCURRENCY,
      settings: workerSettings(ordersQueue, config),
      lockDuration: config.WORKER_LOCK_MS,
      stalledInterval: config.WORKER_LOCK_MS,
      maxStalledCount: 3,
    });
    worker.on('error', () => {});
    worker.on('completed', () => {
      if (++completed === expected) send({ reached: completed });
    });
    await worker.waitUntilReady();
    onMessage(({ expect }) => {
      if (expect === undefined) return;
      expected = expect;
      if (completed >= expected) send({ reached: completed });
    });
    send({ ready: true });
  },

  /** Adds `process` jobs as the outbox relay does (addJob: the job's declared options, job id = order id). */
  async 'bullmq-producer'() {
    const [{ addJob, QueueSet }, { createRedis }, { ordersQueue, processOrder }] = await Promise.all([
      import('../common/queues.ts'),
      import('../common/redis.ts'),
      import('../subgraphs/orders/jobs.ts'),
    ]);
    const connection = createRedis(config.REDIS_URL, { role: 'producer', logger, name: 'floor-producer' });
    const queues = new QueueSet(connection, process.env.FLOOR_PREFIX!);
    const queue = queues.get(ordersQueue.name);
    await queue.waitUntilReady();
    const traceparent = `00-${randomUUID().replaceAll('-', '')}-${randomUUID().replaceAll('-', '').slice(0, 16)}-01`;
    loadRole(async () => {
      await addJob(queue, processOrder, { orderId: randomUUID(), requestId: randomUUID(), correlationId: randomUUID(), traceparent }, config);
    });
  },

  /** node:http, keep-alive, reads the JSON body and answers JSON. */
  async 'http-server'() {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { variables?: { orderId?: string } };
        const answer = JSON.stringify({ data: { reserveStock: { outcome: 'RESERVED', orderId: body.variables?.orderId } } });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
      });
    });
    server.keepAliveTimeout = 65_000;
    server.listen(0, '127.0.0.1', () => listening(server));
  },

  /** Apollo Server 5 on express 5 (express.json, expressMiddleware) over a tiny subgraph schema, production settings. */
  async 'apollo-server'() {
    const { ApolloServer, ApolloServerPluginLandingPageDisabled, buildSubgraphSchema, expressMiddleware, express, parse } = await apolloServerLibraries();
    const apollo = new ApolloServer({
      schema: buildSubgraphSchema([{ typeDefs: parse(TINY_TYPE_DEFS), resolvers: tinyResolvers }]),
      introspection: false,
      plugins: [ApolloServerPluginLandingPageDisabled()],
    });
    await apollo.start();
    const app = express();
    app.use('/graphql', express.json({ limit: '1mb' }), expressMiddleware(apollo));
    const server = app.listen(0, '127.0.0.1', () => listening(server));
    server.keepAliveTimeout = 65_000;
  },

  /** @apollo/gateway over the tiny subgraph at FLOOR_URL, through Junction's SubgraphDataSource (undici Pool, breaker), on Apollo Server 5 + express 5. */
  async gateway() {
    const { ApolloServer, ApolloServerPluginLandingPageDisabled, expressMiddleware, express, parse } = await apolloServerLibraries();
    const [{ ApolloGateway }, { composeServices }, { SubgraphDataSource }, { InflightFetches }] = await Promise.all([
      import('@apollo/gateway'),
      import('@apollo/composition'),
      import('../gateway/data-source.ts'),
      import('../gateway/dedup.ts'),
    ]);
    const url = process.env.FLOOR_URL!;
    const composed = composeServices([{ name: 'tiny', url, typeDefs: parse(TINY_TYPE_DEFS) }]);
    if (composed.errors) throw new Error(`composition failed: ${composed.errors.map((e) => e.message).join('; ')}`);
    const inflight = new InflightFetches();
    const gateway = new ApolloGateway({
      supergraphSdl: composed.supergraphSdl,
      buildService: ({ name, url: subgraphUrl }) => new SubgraphDataSource(name, subgraphUrl!, { config, logger, inflight }),
      logger,
    });
    const apollo = new ApolloServer({
      gateway,
      introspection: false,
      plugins: [ApolloServerPluginLandingPageDisabled()],
      stopOnTerminationSignals: false,
      logger,
    });
    await apollo.start();
    const app = express();
    app.use('/graphql', express.json({ limit: '1mb' }), expressMiddleware(apollo));
    const server = app.listen(0, '127.0.0.1', () => listening(server));
    server.keepAliveTimeout = 65_000;
  },

  /** POSTs the reserveStock body to FLOOR_URL over an undici Pool (keep-alive) and parses the JSON answer, as the order worker calls inventory. */
  async 'http-client'() {
    const { Pool } = await import('undici');
    const target = new URL(process.env.FLOOR_URL!);
    const pool = new Pool(target.origin, { keepAliveTimeout: 30_000 });
    const path = `${target.pathname}${target.search}`;
    loadRole(async () => {
      const response = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: reserveBody() });
      const answer = (await response.body.json()) as { data?: { reserveStock?: { outcome?: string } } };
      if (response.statusCode !== 200 || answer?.data?.reserveStock?.outcome !== 'RESERVED')
        throw new Error(`unexpected answer ${response.statusCode} ${JSON.stringify(answer)}`);
    });
  },

  /** Junction's own provider client (workers/notifications/provider.ts over common/partner.ts: an undici Agent behind a breaker) sending a notification to FLOOR_URL's origin, as the delivery worker does. */
  async 'provider-client'() {
    const { NotifyProvider } = await import('../workers/notifications/provider.ts');
    const provider = new NotifyProvider({ config: { ...config, NOTIFY_URL: new URL(process.env.FLOOR_URL!).origin }, logger });
    loadRole(async () => {
      const now = new Date();
      await provider.send({
        id: randomUUID(),
        eventId: randomUUID(),
        type: 'ORDER_CONFIRMED',
        userId: randomUUID(),
        occurredAt: now,
        payload: { orderId: randomUUID(), productId: 'SKU-floor', quantity: 1, status: 'CONFIRMED' },
        status: 'QUEUED',
        attempts: 1,
        lastError: null,
        sentAt: null,
        createdAt: now,
        updatedAt: now,
      });
    });
  },

  /**
   * postgres.js through common/db.ts's connect() (pool of 10, prepared
   * statements): each operation one single-row UPDATE, its own commit;
   * FLOOR_PG_MODE=transaction wraps it in sql.begin (BEGIN, UPDATE, COMMIT).
   * Operation i updates row i mod FLOOR_PG_ROWS: the few in flight are always different rows, so none waits on a lock.
   */
  async 'pg-client'() {
    const { connect } = await import('../common/db.ts');
    const { sql } = connect(process.env.FLOOR_DATABASE_URL!);
    const transaction = process.env.FLOOR_PG_MODE === 'transaction';
    const rows = Number(process.env.FLOOR_PG_ROWS);
    const update = (q: typeof sql, id: number) => q`update floor_rows set n = n + 1, updated_at = now() where id = ${id}`;
    loadRole(async (i) => {
      const id = (i % rows) + 1;
      const result = transaction ? await sql.begin((tx) => update(tx as unknown as typeof sql, id)) : await update(sql, id);
      if (result.count !== 1) throw new Error(`updated ${result.count} rows`);
    });
  },
};

const role = process.argv[2] ?? '';
if (!roles[role]) throw new Error(`unknown role ${role}; have ${Object.keys(roles).join(', ')}`);
roles[role]!().catch((error) => {
  send({ error: String((error as Error)?.stack ?? error) });
  process.exit(1);
});
