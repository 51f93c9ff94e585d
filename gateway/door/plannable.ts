import type { ApolloServerOptionsWithGateway, ApolloServerPlugin, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Logger } from '../../common/logger.ts';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type Executor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;

/** A request that names no operation of its document, or one the query planner refuses: HTTP 400 with a code (docs/api/persisted-operations.md, "Mistakes"). */
function clientError(message: string, code: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400 } } });
}

/**
 * Refuses, before anything is planned or executed, a request whose document
 * has no operation it names: an `operationName` the document does not contain,
 * or several operations and no name (Apollo Server alone answers these 400
 * OPERATION_RESOLUTION_FAILURE; behind @apollo/gateway the query planner would
 * throw, an HTTP 500); and a subscription sent as a plain request (400 BAD_REQUEST).
 */
export function operationResolutionPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          // A plain request cannot carry a stream of events: the gateway's executor would fail on it (a 500).
          if (operation?.operation === 'subscription') {
            throw clientError(
              'A subscription needs a streaming transport (GraphQL over SSE, graphql-ws or multipart HTTP), not a plain request.',
              'BAD_REQUEST',
            );
          }
          if (operation) return;
          const name = request.operationName;
          throw clientError(
            name ? `Unknown operation named "${name}".` : 'Must provide operation name if query contains multiple operations.',
            'OPERATION_RESOLUTION_FAILURE',
          );
        },
      };
    },
  };
}

/**
 * The gateway as Apollo Server sees it, with an executor that answers an
 * operation the query planner cannot plan with HTTP 400: the planner throws a
 * GraphQLError for what the client sent (keeping its code, or
 * QUERY_PLANNING_FAILED). Anything else it throws is a bug and stays a 500.
 */
export function plannable(gateway: GatewayInterface, logger: Logger): GatewayInterface {
  const wrap =
    (executor: Executor): Executor =>
    async (requestContext) => {
      try {
        return await executor(requestContext);
      } catch (error) {
        if (!(error instanceof GraphQLError) || (error.extensions.http as { status?: number } | undefined)?.status) throw error;
        logger.warn({ err: error, operationName: requestContext.request.operationName }, 'the query planner refused an operation: answered 400');
        const code = typeof error.extensions.code === 'string' ? error.extensions.code : 'QUERY_PLANNING_FAILED';
        throw clientError(error.message, code);
      }
    };
  return {
    async load(options) {
      const loaded = await gateway.load(options);
      return { ...loaded, executor: loaded.executor && wrap(loaded.executor) };
    },
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
  };
}
