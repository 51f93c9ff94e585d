import { sql } from 'drizzle-orm';
import type { DocumentNode, GraphQLFieldResolver } from 'graphql';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express, type Request } from 'express';
import { GraphQLError } from 'graphql';
import {
  authenticate,
  createAuthenticator,
  isServiceKey,
  requireService,
  requireServiceCaller,
  SERVICE_KEY_HEADER,
  viewerOf,
  type AccessContext,
  type AuthSettings,
} from './auth.ts';
import type { Database } from './db.ts';
import { createErrorFormatter, errorLoggingPlugin } from './errors.ts';
import { subgraphMetricsPlugin } from './graphql-metrics.ts';
import { createApp, idsOf, jsonErrors, listen, type Listening } from './http.ts';
import type { Logger } from './logger.ts';
import { metricsRoute } from './metrics.ts';
import { createSubscriptionServer, type CallerContext, type SubscriptionServer } from './subscriptions/server.ts';
import { traceRequests } from './tracing.ts';
import { DateTime, JSONScalar } from './scalars.ts';

export type { CallerContext };

/** What every subgraph's context has for an HTTP request, whatever else it adds. */
export interface BaseContext extends CallerContext {
  request: Request;
}

/** What every subgraph's server is built on (the SubgraphDeps its factory is given). */
export interface SubgraphAppDeps {
  /** The subgraph's database: /ready answers 200 only while it answers. */
  db: Database;
  /** Sign-in settings (the subgraph verifies the bearer token itself, and knows the workers' service key), and production mode. */
  config: AuthSettings & { SERVICE_API_KEY: string; production: boolean; SUBSCRIPTION_HEARTBEAT_MS: number };
  logger: Logger;
}

export interface SubgraphOptions<C extends CallerContext> {
  name: string;
  typeDefs: DocumentNode;
  /**
   * Resolvers by type name (`__resolveReference` on entities), declared as the
   * subgraph's generated `Resolvers` type (`npm run codegen`), which types every
   * argument, parent and result, and the context as the subgraph's own (the
   * context is `never` here so that every subgraph's resolvers fit this one map).
   */
  resolvers: GraphQLResolverMap<never>;
  /** Builds the per-request context (fresh DataLoaders and all). */
  context(base: BaseContext): C | Promise<C>;
  /**
   * When the schema has a Subscription type: serve it as GraphQL over SSE and
   * over graphql-ws beside Apollo Server (docs/api/subscriptions.md), with
   * `context` built once per operation (there is no express request over a
   * WebSocket) and `perEvent` giving each event's execution a context of its
   * own (fresh DataLoaders).
   */
  subscriptions?: { context(base: CallerContext): C; perEvent(context: C): C };
  /** Extra routes (internal endpoints), mounted before /graphql. */
  routes?(app: Express): void;
}

export interface SubgraphApp {
  app: Express;
  apollo: ApolloServer<any>;
  /** Its subscription streams, when it serves any: listenSubgraph attaches them to the server and ends them first on close. */
  streams?: SubscriptionServer;
}

/**
 * Listens with a subgraph's app on `port` (0 picks a free one), taking
 * WebSocket upgrades for its subscriptions; close() ends the open
 * subscription streams first (clients subscribe again elsewhere), then stops
 * the server.
 */
export async function listenSubgraph(subgraph: SubgraphApp, port: number, host?: string): Promise<Listening> {
  const http = await listen(subgraph.app, port, host);
  const { streams } = subgraph;
  if (!streams) return http;
  streams.attach(http.server);
  return {
    ...http,
    async close() {
      await streams.end();
      await http.close();
    },
  };
}

/** Subscriptions never run through Apollo Server's HTTP handler: a 400 that says where they are served. */
const subscriptionsElsewhere: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation !== 'subscription') return;
        throw new GraphQLError(
          'subscriptions are served as GraphQL over SSE (Accept: text/event-stream) or over a WebSocket (graphql-transport-ws) on /graphql',
          {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          },
        );
      },
    };
  },
};

/** The subgraph's SDL (`_service`) only for the workers' service identity or an admin: gateways load the supergraph file. */
function guardServiceField(schema: ReturnType<typeof buildSubgraphSchema>) {
  const field = schema.getQueryType()?.getFields()._service;
  if (!field?.resolve) return schema;
  const resolve: GraphQLFieldResolver<unknown, AccessContext> = field.resolve;
  field.resolve = (source, args, context: AccessContext, info) => {
    requireService(context);
    return resolve(source, args, context, info);
  };
  return schema;
}

/**
 * An express app serving a federated subgraph at /graphql, with /health,
 * /ready, /metrics (requests, errors by code and latency by operation, and
 * every breaker of the process), request ids, and errors that always carry extensions.code.
 * Every request's bearer token is verified here (a bad one is HTTP 401), so the
 * context carries the viewer whoever called: the gateway, another gateway, or
 * a client straight. /internal/* needs the service key or an admin token.
 */
export async function createSubgraphApp<C extends CallerContext>({ db, config, logger }: SubgraphAppDeps, options: SubgraphOptions<C>): Promise<SubgraphApp> {
  const { production } = config;
  const auth = createAuthenticator(config);
  const serviceKey = config.SERVICE_API_KEY;
  const schema = guardServiceField(buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers: { DateTime, JSON: JSONScalar, ...options.resolvers } }]));
  const apollo = new ApolloServer<C>({
    schema,
    introspection: !production,
    formatError: createErrorFormatter(production, { database: true }),
    plugins: [
      errorLoggingPlugin(logger, { database: true }),
      subgraphMetricsPlugin(options.name),
      subscriptionsElsewhere,
      ...(production ? [ApolloServerPluginLandingPageDisabled()] : []),
    ],
    logger,
  });
  await apollo.start();

  const app = createApp();
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', service: options.name });
  });
  app.get('/ready', async (_req, res) => {
    try {
      await db.execute(sql`select 1`);
      res.json({ status: 'ready', service: options.name });
    } catch (error) {
      res.status(503).json({ status: 'unavailable', service: options.name, error: (error as Error).message });
    }
  });
  metricsRoute(app);
  app.use('/internal', requireServiceCaller(auth, serviceKey));
  options.routes?.(app);
  const streams =
    schema.getSubscriptionType() && options.subscriptions
      ? createSubscriptionServer<C>({
          subgraph: options.name,
          schema,
          auth,
          context: options.subscriptions.context,
          perEvent: options.subscriptions.perEvent,
          isService: (req) => isServiceKey(req.get(SERVICE_KEY_HEADER), serviceKey),
          heartbeatMs: config.SUBSCRIPTION_HEARTBEAT_MS,
          production,
          logger,
        })
      : undefined;
  app.use(
    '/graphql',
    authenticate(auth),
    express.json({ limit: '1mb' }),
    ...(streams ? [streams.sse] : []),
    traceRequests(options.name),
    expressMiddleware(apollo, {
      context: async ({ req, res }) =>
        options.context({ ...idsOf(res), request: req, viewer: viewerOf(res), service: isServiceKey(req.get(SERVICE_KEY_HEADER), serviceKey) }),
    }),
  );
  app.use(jsonErrors(logger));
  return { app, apollo, streams };
}
