import type { IncomingMessage, Server } from 'node:http';
import { buildOperationContext, executeQueryPlan, type GraphQLDataSource } from '@apollo/gateway';
import type { PlanNode } from '@apollo/query-planner';
import type { RequestHandler } from 'express';
import {
  getOperationAST,
  GraphQLError,
  locatedError,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import type { FormattedExecutionResult } from 'graphql-ws';
import { viewerOf, type Authenticator, type Viewer } from '../../common/auth.ts';
import type { GatewayConfig as Config } from '../settings.ts';
import { ServiceUnavailableError, UnauthenticatedError } from '../../common/errors.ts';
import { idsOf } from '../../common/http.ts';
import type { Logger } from '../../common/logger.ts';
import { Operations, type Protocol } from '../../common/subscriptions/operations.ts';
import { acceptsEventStream, sseHandler, writable } from '../../common/subscriptions/sse.ts';
import { EventStream, SlowSubscriberError } from '../../common/subscriptions/stream.ts';
import { endStreams } from '../../common/subscriptions/server.ts';
import { wsServer } from '../../common/subscriptions/ws.ts';
import type { GatewayContext } from '../data-source.ts';
import { checkOperation, type Safelist } from '../door/safelist.ts';
import type { queryLimits } from '../limits.ts';
import type { RateLimit } from '../rate-limit.ts';
import { subscriptionMetrics } from './metrics.ts';
import { acceptsMultipartSubscription, writeMultipart } from './multipart.ts';
import type { SubscriptionPlan, SubscriptionPlanner } from './planner.ts';
import { UpstreamClients, type UpstreamFailure } from './upstream.ts';
import { createViewerCap } from './viewer-cap.ts';

type SubscriptionSettings = Pick<
  Config,
  'SUBSCRIPTION_HEARTBEAT_MS' | 'SUBSCRIPTION_QUEUE_MAX' | 'SUBSCRIPTIONS_PER_VIEWER' | 'MAX_QUERY_TOKENS' | 'REDIS_URL' | 'QUEUE_PREFIX' | 'production'
>;

export interface GatewaySubscriptionDeps {
  config: SubscriptionSettings;
  logger: Logger;
  planner: SubscriptionPlanner;
  auth: Authenticator;
  safelist: Safelist;
  rateLimit: RateLimit;
  limits: ReturnType<typeof queryLimits>;
  /** The data source the gateway calls subgraph `name` with (the subscriber's token travels in the context's viewer). */
  dataSource(name: string): GraphQLDataSource | undefined;
  /** Subgraph `name`'s /graphql URL in the supergraph in force. */
  url(name: string): string | undefined;
}

/** How the gateway serves subscriptions to clients on /graphql (docs/api/subscriptions.md, "Through the gateway"). */
export interface GatewaySubscriptions {
  /** Express middleware for /graphql after the door (CORS, authenticate, rate limit, body parser, safelist): GraphQL over SSE and multipart HTTP subscriptions; anything else passes on. */
  readonly http: RequestHandler;
  /** Takes the listening server's WebSocket upgrades on /graphql (graphql-ws). */
  attach(server: Server): void;
  /** Ends every open stream with SERVICE_UNAVAILABLE (clients subscribe again on another replica), waits a little for them to go out, then closes the sockets. */
  end(): Promise<void>;
  /** Open subscription streams, of one protocol or all. */
  count(protocol?: Protocol): number;
}

/** One event of a subgraph's subscription, with the plan that resolves the rest of it. */
interface UpstreamEvent {
  result: FormattedExecutionResult;
  plan: SubscriptionPlan;
  /** The data sources of the subgraphs the rest of the plan fetches from, as they were when it subscribed (a reload does not change an open subscription). */
  sources: Record<string, GraphQLDataSource>;
  /** When it reached the gateway (performance.now()). */
  received: number;
}

const resume = 'subscribe again (orderUpdates: with after, the cursor of the last update received)';

function clientError(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400 } } });
}

function rateLimited(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'RATE_LIMITED', ...extensions, http: { status: 429 } } });
}

/** A refused subscription: its error on the root field, data null (as the subgraphs answer one). */
function refusal(error: GraphQLError, document: DocumentNode, operationName: string | undefined): ExecutionResult {
  const field = getOperationAST(document, operationName)?.selectionSet.selections[0];
  if (field?.kind !== 'Field') return { data: null, errors: [error] };
  return { data: null, errors: [locatedError(error, [field], [field.alias?.value ?? field.name.value])] };
}

/** The error that ends a stream whose subgraph subscription failed. */
function upstreamError(failure: UpstreamFailure, service: string): GraphQLError {
  if ('lost' in failure) {
    return new ServiceUnavailableError(`the subscription to subgraph "${service}" was lost (${failure.lost}): ${resume}`, 0, { serviceName: service });
  }
  const [first] = failure.errors;
  return new GraphQLError(first?.message ?? `subgraph "${service}" refused the subscription`, { extensions: { ...first?.extensions, serviceName: service } });
}

/** Every subgraph a plan node fetches from. */
function servicesOf(node: PlanNode | undefined, into = new Set<string>()): Set<string> {
  if (!node) return into;
  switch (node.kind) {
    case 'Fetch':
      into.add(node.serviceName);
      break;
    case 'Sequence':
    case 'Parallel':
      for (const child of node.nodes) servicesOf(child, into);
      break;
    case 'Flatten':
      servicesOf(node.node, into);
      break;
    case 'Condition':
      servicesOf(node.ifClause, into);
      servicesOf(node.elseClause, into);
      break;
    case 'Defer':
      servicesOf(node.primary.node, into);
      for (const deferred of node.deferred) servicesOf(deferred.node, into);
      break;
  }
  return into;
}

/** What a client sent on GET or POST /graphql. */
function requestOf(req: Parameters<RequestHandler>[0]): { query?: unknown; operationName?: unknown; variables?: unknown; extensions?: unknown } {
  if (req.method === 'POST') return typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
  const params = new URL(req.url, 'http://localhost').searchParams;
  const json = (name: string) => {
    const value = params.get(name);
    if (value === null) return undefined;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  };
  return {
    query: params.get('query') ?? undefined,
    operationName: params.get('operationName') ?? undefined,
    variables: json('variables'),
    extensions: json('extensions'),
  };
}

/**
 * The gateway's subscriptions: GraphQL over SSE, graphql-ws and Apollo's
 * multipart HTTP on /graphql. Each subscription is verified, checked by the
 * door (safelist, rate limit, query limits, at most SUBSCRIPTIONS_PER_VIEWER
 * per viewer), planned by the query planner, and subscribed to on the
 * subgraph owning its field over one multiplexed WebSocket with the
 * subscriber's token; each event then runs the rest of the plan with
 * executeQueryPlan, the primary fetch answered by the event and every other
 * fetch made to its subgraph with the subscriber's token, as a query's would be.
 */
export function createGatewaySubscriptions(deps: GatewaySubscriptionDeps): GatewaySubscriptions {
  const { config, logger, planner } = deps;
  const upstream = new UpstreamClients({ heartbeatMs: config.SUBSCRIPTION_HEARTBEAT_MS, logger });
  // SUBSCRIPTIONS_PER_VIEWER across every gateway replica on the same Redis (gateway/subscriptions/viewer-cap.ts).
  const cap = createViewerCap(config, logger);

  const operations: Operations<GatewayContext> = new Operations<GatewayContext>({
    subgraph: 'gateway',
    perEvent: (context) => context,
    production: config.production,
    logger,
    metrics: {
      opened: (protocol) => subscriptionMetrics.open.inc({ protocol }),
      closed: (protocol) => subscriptionMetrics.open.dec({ protocol }),
      delivered: (protocol, field) => subscriptionMetrics.events.inc({ protocol, field }),
    },
    source: async (args, transport) => subscribe(args, transport.viewer),
    execute: async (args, event) => resolveEvent(args, event as UpstreamEvent),
  });

  async function subscribe(args: ExecutionArgs, viewer: Viewer | null): Promise<AsyncIterable<UpstreamEvent> | ExecutionResult> {
    const operationName = args.operationName ?? undefined;
    const refuse = (error: GraphQLError) => refusal(error, args.document, operationName);
    const operation = getOperationAST(args.document, operationName);
    if (operation?.operation !== 'subscription')
      return refuse(clientError('Only subscriptions are streamed; send queries and mutations as plain requests.', 'BAD_REQUEST'));
    // Every Subscription field needs a viewer (orderUpdated: the order's owner; orderUpdates: the viewer): refused here, before any subgraph is asked.
    if (!viewer)
      return refuse(
        new UnauthenticatedError(
          'a subscription needs a signed-in viewer: send a bearer token (Authorization header, or connectionParams.authorization over graphql-ws)',
        ),
      );
    const limit = deps.limits.check(args.schema, args.document, (args.variableValues as Record<string, unknown> | undefined) ?? {}, operationName);
    if (limit) return refuse(limit);
    let plan: SubscriptionPlan;
    try {
      plan = planner.plan(args.document, operationName);
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      logger.warn({ err: error, operationName }, 'the query planner refused a subscription');
      return refuse(clientError(error.message, typeof error.extensions.code === 'string' ? error.extensions.code : 'QUERY_PLANNING_FAILED'));
    }
    const service = plan.primary.serviceName;
    const url = deps.url(service);
    if (!url) return refuse(new ServiceUnavailableError(`subgraph "${service}" is not in the supergraph in force`, 1));

    const sources: Record<string, GraphQLDataSource> = Object.create(null) as Record<string, GraphQLDataSource>;
    for (const name of servicesOf(plan.perEvent.node as PlanNode)) {
      const source = deps.dataSource(name);
      if (source) sources[name] = source;
    }
    const variables: Record<string, unknown> = {};
    const given = (args.variableValues ?? {}) as Record<string, unknown>;
    for (const name of plan.primary.variableUsages ?? []) if (name in given) variables[name] = given[name];
    const context = args.contextValue as GatewayContext;

    const place = await cap.take(viewer.id);
    if (!place) {
      subscriptionMetrics.refused.inc({ reason: 'per_viewer' });
      return refuse(
        rateLimited(`Too many open subscriptions: at most ${config.SUBSCRIPTIONS_PER_VIEWER} per viewer; end one first`, {
          limit: config.SUBSCRIPTIONS_PER_VIEWER,
        }),
      );
    }
    // The subgraph subscription's unsubscribe, once made.
    const upstreamSubscription: { dispose?: () => void } = {};
    let released = false;
    const stream = new EventStream<UpstreamEvent>({
      max: config.SUBSCRIPTION_QUEUE_MAX,
      overflow: (max) => {
        subscriptionMetrics.slowDropped.inc();
        return new SlowSubscriberError(max, resume);
      },
      onEnd: () => {
        if (released) return;
        released = true;
        upstreamSubscription.dispose?.();
        place.release();
      },
    });
    upstreamSubscription.dispose = upstream.subscribe(
      url,
      {
        query: plan.primary.operation,
        variables,
        ...(plan.primary.operationName ? { operationName: plan.primary.operationName } : {}),
        extensions: { authorization: `Bearer ${viewer.token}`, requestId: context.requestId, correlationId: context.correlationId },
      },
      {
        next: (result) => stream.push({ result, plan, sources, received: performance.now() }),
        complete: () => stream.end(),
        error: (failure) => stream.fail(upstreamError(failure, service)),
      },
    );
    if (released) upstreamSubscription.dispose();
    return stream;
  }

  async function resolveEvent(args: ExecutionArgs, event: UpstreamEvent): Promise<ExecutionResult> {
    const { plan } = event;
    const operationName = args.operationName ?? undefined;
    try {
      const serviceMap = { ...event.sources };
      // The primary fetch is answered by the event; a later fetch from the same subgraph goes to it as usual.
      const owner = serviceMap[plan.primary.serviceName];
      let answered = false;
      serviceMap[plan.primary.serviceName] = {
        process: async (options) => {
          if (!answered && options.request.query === plan.primary.operation) {
            answered = true;
            return event.result as Awaited<ReturnType<GraphQLDataSource['process']>>;
          }
          if (!owner) throw new ServiceUnavailableError(`subgraph "${plan.primary.serviceName}" is not in the supergraph in force`, 1);
          return owner.process(options);
        },
      };
      const operation = getOperationAST(args.document, operationName)!;
      const requestContext = {
        request: { variables: args.variableValues ?? {}, operationName },
        context: args.contextValue,
        logger,
        metrics: {},
        document: args.document,
        schema: plan.schemas.api,
        // Each event only reads: its subgraph fetches may share identical ones in flight (same token), as a query's do.
        operation: { ...operation, operation: 'query' },
        operationName: operationName ?? null,
      } as unknown as Parameters<typeof executeQueryPlan>[2];
      const operationContext = buildOperationContext({ schema: plan.schemas.api, operationDocument: args.document, operationName });
      const result = await executeQueryPlan(plan.perEvent, serviceMap, requestContext, operationContext, plan.schemas.supergraph, plan.schemas.federationApi);
      subscriptionMetrics.resolve.observe((performance.now() - event.received) / 1000);
      return result as ExecutionResult;
    } catch (error) {
      return { data: null, errors: [error instanceof GraphQLError ? error : locatedError(error, undefined)] };
    }
  }

  /** The checks made before a subscription is parsed for execution: token count (MAX_QUERY_TOKENS), one operation, and a subscription. */
  function precheck(query: unknown, operationName: unknown): { error: GraphQLError } | { subscription: boolean } {
    if (typeof query !== 'string' || query === '') return { error: clientError('GraphQL operations must contain a non-empty `query`.', 'BAD_REQUEST') };
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: config.MAX_QUERY_TOKENS });
    } catch (error) {
      return { error: clientError(error instanceof Error ? error.message : String(error), 'GRAPHQL_PARSE_FAILED') };
    }
    const operation = getOperationAST(document, typeof operationName === 'string' ? operationName : undefined);
    if (!operation) return { error: clientError('Unable to identify the operation: name it with operationName.', 'OPERATION_RESOLUTION_FAILURE') };
    return { subscription: operation.operation === 'subscription' };
  }

  const format = (result: ExecutionResult, context?: { requestId?: string }) => operations.formatResult(result, context);
  const sse = sseHandler<GatewayContext>({
    schema: () => planner.schema(),
    operations,
    viewer: (res) => viewerOf(res),
    context: (_req, res) => ({ ...idsOf(res), viewer: viewerOf(res) }),
    heartbeatMs: config.SUBSCRIPTION_HEARTBEAT_MS,
  });

  const multipart: RequestHandler = async (req, res, next) => {
    try {
      const request = requestOf(req);
      const operationName = typeof request.operationName === 'string' ? request.operationName : undefined;
      const document = parse(String(request.query), { maxTokens: config.MAX_QUERY_TOKENS });
      const schema = planner.schema();
      const invalid = validate(schema, document);
      if (invalid.length > 0) {
        res.status(400).json({ errors: invalid.map((error) => operations.formatError(error)) });
        return;
      }
      const variables = request.variables;
      if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
        res.status(400).json({ errors: [{ message: '`variables` must be an object', extensions: { code: 'BAD_REQUEST' } }] });
        return;
      }
      const viewer = viewerOf(res);
      const ids = idsOf(res);
      const contextValue = operations.bind({ ...ids, viewer }, { protocol: 'multipart', viewer, ready: () => writable(res) });
      const result = await operations.subscribe({
        schema,
        document,
        operationName,
        variableValues: (variables ?? undefined) as Record<string, unknown> | undefined,
        contextValue,
      });
      const results =
        Symbol.asyncIterator in result
          ? result
          : (async function* once() {
              yield result;
            })();
      await writeMultipart(res, results, {
        heartbeatMs: config.SUBSCRIPTION_HEARTBEAT_MS,
        format: (each) => format(each, ids),
        formatError: (error): GraphQLFormattedError => operations.formatError(error instanceof GraphQLError ? error : locatedError(error, undefined), ids),
      });
    } catch (error) {
      next(error);
    }
  };

  const http: RequestHandler = (req, res, next) => {
    const overSse = acceptsEventStream(req);
    if (!overSse && !acceptsMultipartSubscription(req)) return next();
    if (req.method !== 'GET' && req.method !== 'POST') return next();
    const request = requestOf(req);
    const checked = precheck(request.query, request.operationName);
    if ('error' in checked) {
      res.status(400).json({ errors: [{ message: checked.error.message, extensions: { code: checked.error.extensions.code } }] });
      return;
    }
    if (!checked.subscription) {
      // Apollo Client sends the multipart Accept with queries too (for @defer): those are Apollo Server's.
      if (!overSse) return next();
      res.status(400).json({
        errors: [{ message: 'Only subscriptions are streamed over SSE; send queries and mutations as plain requests.', extensions: { code: 'BAD_REQUEST' } }],
      });
      return;
    }
    if (overSse) return void sse(req, res, next);
    return void multipart(req, res, next);
  };

  const ws = wsServer<GatewayContext>({
    schema: () => planner.schema(),
    operations,
    auth: deps.auth,
    context: (caller) => ({ ...caller }),
    heartbeatMs: config.SUBSCRIPTION_HEARTBEAT_MS,
    path: '/graphql',
    logger,
    admit: async (viewer, payload, request: IncomingMessage) => {
      const check = checkOperation(deps.safelist, payload, viewer, logger);
      if (!check.ok) return [check.error];
      const mutable = payload as { query: string; extensions?: Record<string, unknown> | null };
      if (check.query !== payload.query) mutable.query = check.query as string;
      if (check.extensions !== payload.extensions) mutable.extensions = (check.extensions ?? null) as Record<string, unknown> | null;
      const verdict = await deps.rateLimit.check(viewer ? `user:${viewer.id}` : `ip:${request.socket.remoteAddress ?? 'unknown'}`);
      if (!verdict.ok) return [rateLimited(verdict.message, { retryAfter: verdict.retryAfter })];
      const checked = precheck(mutable.query, payload.operationName);
      if ('error' in checked) return [checked.error];
      if (!checked.subscription)
        return [clientError('Only subscriptions are served over this WebSocket; send queries and mutations as plain requests.', 'BAD_REQUEST')];
      return undefined;
    },
  });

  let ending: Promise<void> | undefined;
  return {
    http,
    attach(server) {
      server.on('upgrade', ws.upgrade);
    },
    end() {
      ending ??= (async () => {
        await endStreams(operations, ws);
        await upstream.close();
        await cap.close();
      })();
      return ending;
    },
    count: (protocol) => operations.count(protocol),
  };
}
