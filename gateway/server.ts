import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import { authenticate, createAuthenticator, viewerOf } from '../common/auth.ts';
import type { GatewayConfig as Config } from './settings.ts';
import { createErrorFormatter, errorLoggingPlugin } from '../common/errors.ts';
import { traceRequests } from '../common/tracing.ts';
import { createApp, idsOf, jsonErrors, listen, type Listening } from '../common/http.ts';
import type { Logger } from '../common/logger.ts';
import { metricsRoute } from '../common/metrics.ts';
import { SubgraphDataSource, type GatewayContext } from './data-source.ts';
import { InflightFetches } from './dedup.ts';
import { gatewayMetricsPlugin } from './metrics.ts';
import { queryLimits } from './limits.ts';
import { createRateLimit } from './rate-limit.ts';
import { createDoor } from './door/index.ts';
import { plannable } from './door/plannable.ts';
import { checkSubgraphs } from './readiness.ts';
import { supergraphFromFile } from './supergraph-file.ts';
import { subgraphUrl } from './subgraphs.ts';
import { createGatewaySubscriptions, type GatewaySubscriptions } from './subscriptions/index.ts';
import { SubscriptionPlanner } from './subscriptions/planner.ts';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** How long /ready waits for each subgraph's /ready. */
const READY_TIMEOUT_MS = 1000;

export interface GatewayDeps {
  config: Config;
  logger: Logger;
}

export interface Gateway {
  app: Express;
  apollo: ApolloServer<GatewayContext>;
  /** Its subscriptions (SSE and multipart on /graphql; listenGateway attaches their WebSockets). */
  subscriptions: GatewaySubscriptions;
  /** Stops the gateway and its supergraph watch; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Listens with the gateway on `port` (0 picks a free one), taking WebSocket
 * upgrades on /graphql for subscriptions; close() first ends the open
 * subscription streams (so their clients reconnect to another replica), then
 * stops the server.
 */
export async function listenGateway(gateway: Gateway, port: number, host?: string): Promise<Listening> {
  const http = await listen(gateway.app, port, host);
  gateway.subscriptions.attach(http.server);
  return {
    ...http,
    async close() {
      await gateway.subscriptions.end();
      await http.close();
    },
  };
}

/** SUPERGRAPH_PATH, relative to the project's root unless absolute. */
export function supergraphPath(config: Config): string {
  return isAbsolute(config.SUPERGRAPH_PATH) ? config.SUPERGRAPH_PATH : resolve(PROJECT_ROOT, config.SUPERGRAPH_PATH);
}

/**
 * The gateway as an express app: /graphql executes over the subgraphs named in
 * supergraph.graphql (reloaded when the file changes), /health and /ready.
 * index.ts listens; tests use it on a free port.
 */
export async function createGateway({ config, logger }: GatewayDeps): Promise<Gateway> {
  const path = supergraphPath(config);
  // The subgraphs of the supergraph being served, by name, with the URLs the gateway calls.
  let urls: Record<string, string> = {};
  // Every data source built (ApolloGateway keeps one per subgraph name and URL across reloads): for /ready and close().
  const sources = new Map<string, SubgraphDataSource>();
  const inflight = new InflightFetches();
  const sourceFor = (name: string, url: string): SubgraphDataSource => {
    const key = `${name} ${url}`;
    let source = sources.get(key);
    if (!source) {
      source = new SubgraphDataSource(name, url, { config, logger, inflight });
      sources.set(key, source);
    }
    return source;
  };

  const gateway = new ApolloGateway({
    supergraphSdl: supergraphFromFile({
      path,
      logger,
      check: (supergraph) => {
        for (const { name, url } of supergraph.subgraphsMetadata()) subgraphUrl(config, name, url);
      },
      onLoad: (supergraph) => {
        urls = Object.fromEntries(supergraph.subgraphsMetadata().map(({ name, url }) => [name, subgraphUrl(config, name, url)]));
      },
    }),
    buildService: ({ name, url }) => sourceFor(name, subgraphUrl(config, name, url)),
    logger,
  });
  // The query planner of subscriptions follows the supergraph the gateway loads (and reloads).
  const planner = new SubscriptionPlanner();
  gateway.onSchemaLoadOrUpdate(planner.update);

  const rateLimit = createRateLimit(config, logger);
  const limits = queryLimits(config);
  // CORS, automatic persisted queries in Redis, the safelist, refusals as coded 4xx (docs/api/persisted-operations.md).
  const door = createDoor(config, logger);
  const apollo = new ApolloServer<GatewayContext>({
    // An operation the query planner refuses is the client's mistake: 400 (gateway/door/plannable.ts).
    gateway: plannable(gateway, logger),
    introspection: !config.production,
    // No "Did you mean ...?" naming fields and types in production errors.
    hideSchemaDetailsFromClientErrors: config.production,
    parseOptions: limits.parseOptions,
    persistedQueries: door.persistedQueries,
    formatError: createErrorFormatter(config.production),
    includeStacktraceInErrorResponses: config.NODE_ENV === 'development',
    plugins: [
      gatewayMetricsPlugin(),
      errorLoggingPlugin(logger),
      limits.plugin,
      ...door.plugins,
      config.production ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
    ],
    // index.ts owns SIGTERM/SIGINT and stops everything in order.
    stopOnTerminationSignals: false,
    logger,
  });
  try {
    await Promise.all([apollo.start(), rateLimit.ready]);
  } catch (error) {
    await Promise.all([rateLimit.close(), door.close()]);
    throw error;
  }

  const auth = createAuthenticator(config);
  const subscriptions = createGatewaySubscriptions({
    config,
    logger,
    planner,
    auth,
    safelist: door.operations,
    rateLimit,
    limits,
    dataSource: (name) => (urls[name] ? sourceFor(name, urls[name]) : undefined),
    url: (name) => urls[name],
  });
  const app = createApp();
  app.set('trust proxy', config.TRUST_PROXY);
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', service: 'gateway' });
  });
  app.get('/ready', async (_req, res) => {
    // A subgraph whose breaker is open is down without asking it.
    const open = new Set(
      [...sources.values()].filter((source) => source.breaker.state === 'OPEN' && urls[source.name] === source.url).map((source) => source.name),
    );
    const { ready, subgraphs } = await checkSubgraphs(urls, READY_TIMEOUT_MS, open);
    const down = Object.keys(subgraphs).filter((name) => subgraphs[name] === 'down');
    if (ready) res.json({ status: 'ready', subgraphs });
    else res.status(503).json({ status: 'unavailable', subgraphs, down });
  });
  metricsRoute(app);
  app.use(
    '/graphql',
    // No cache keeps what /graphql answers (a refusal, a 401, a 429) unless Apollo Server's cache control, from the
    // subgraphs' @cacheControl hints, finds the answer public and replaces this (docs/operations/cdn.md).
    door.noStore,
    door.cors,
    // A present but bad bearer token is HTTP 401 before anything runs, once the rate limit has counted it against
    // the client's address; the verified viewer is in res.locals.viewer.
    authenticate(auth, { beforeRejecting: rateLimit.middleware }),
    rateLimit.middleware,
    express.json({ limit: '1mb' }),
    door.safelist,
    // GraphQL over SSE and multipart HTTP subscriptions (graphql-ws takes the server's upgrades: listenGateway).
    subscriptions.http,
    traceRequests('gateway'),
    expressMiddleware(apollo, { context: async ({ req, res }) => ({ ...idsOf(res), apiKey: req.get('x-api-key'), viewer: viewerOf(res) }) }),
  );
  app.use(jsonErrors(logger));

  let closing: Promise<void> | undefined;
  return {
    app,
    apollo,
    subscriptions,
    close() {
      // Stopping Apollo Server stops the gateway, which runs the watch's cleanup; then the subgraph pools close.
      closing ??= Promise.all([
        subscriptions.end(),
        apollo.stop().then(async () => {
          await Promise.all([...sources.values()].map((source) => source.close()));
        }),
        rateLimit.close(),
        door.close(),
      ]).then(() => {});
      return closing;
    },
  };
}
