import { sql } from 'drizzle-orm';
import type { DocumentNode, GraphQLFieldResolver } from 'graphql';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express, type Request } from 'express';
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
  type Viewer,
} from './auth.ts';
import type { Database } from './db.ts';
import { createErrorFormatter, errorLoggingPlugin } from './errors.ts';
import { subgraphMetricsPlugin } from './graphql-metrics.ts';
import { createApp, idsOf, jsonErrors, type RequestIds } from './http.ts';
import type { Logger } from './logger.ts';
import { metricsRoute } from './metrics.ts';
import { traceRequests } from './tracing.ts';
import { DateTime, JSONScalar } from './scalars.ts';

/** What every subgraph's context has, whatever else it adds. */
export interface BaseContext extends RequestIds, AccessContext {
  request: Request;
  /** The verified bearer token's viewer; null when anonymous. */
  viewer: Viewer | null;
  /** The caller sent the workers' service key (SERVICE_API_KEY). */
  service: boolean;
}

/** What every subgraph's server is built on (the SubgraphDeps its factory is given). */
export interface SubgraphAppDeps {
  /** The subgraph's database: /ready answers 200 only while it answers. */
  db: Database;
  /** Sign-in settings (the subgraph verifies the bearer token itself, and knows the workers' service key), and production mode. */
  config: AuthSettings & { SERVICE_API_KEY: string; production: boolean };
  logger: Logger;
}

export interface SubgraphOptions<C extends BaseContext> {
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
  /** Extra routes (internal endpoints), mounted before /graphql. */
  routes?(app: Express): void;
}

export interface SubgraphApp {
  app: Express;
  apollo: ApolloServer<any>;
}

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
export async function createSubgraphApp<C extends BaseContext>({ db, config, logger }: SubgraphAppDeps, options: SubgraphOptions<C>): Promise<SubgraphApp> {
  const { production } = config;
  const auth = createAuthenticator(config);
  const serviceKey = config.SERVICE_API_KEY;
  const apollo = new ApolloServer<C>({
    schema: guardServiceField(buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers: { DateTime, JSON: JSONScalar, ...options.resolvers } }])),
    introspection: !production,
    formatError: createErrorFormatter(production, { database: true }),
    plugins: [errorLoggingPlugin(logger, { database: true }), subgraphMetricsPlugin(options.name), ...(production ? [ApolloServerPluginLandingPageDisabled()] : [])],
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
  app.use(
    '/graphql',
    authenticate(auth),
    express.json({ limit: '1mb' }),
    traceRequests(options.name),
    expressMiddleware(apollo, {
      context: async ({ req, res }) =>
        options.context({ ...idsOf(res), request: req, viewer: viewerOf(res), service: isServiceKey(req.get(SERVICE_KEY_HEADER), serviceKey) }),
    }),
  );
  app.use(jsonErrors(logger));
  return { app, apollo };
}
