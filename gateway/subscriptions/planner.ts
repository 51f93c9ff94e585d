import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';

/** A subscription's plan: the fetch that subscribes to the subgraph owning the field, and what resolves the rest of each event. */
export interface SubscriptionPlan {
  primary: FetchNode;
  /** Fields other subgraphs own (e.g. `product { name }`), resolved per event; undefined when the owner has them all. */
  rest?: PlanNode;
  /** What executeQueryPlan runs per event: the primary fetch (answered by the event), then the rest. */
  perEvent: QueryPlan;
  /** The schemas of the supergraph the plan was made from (kept by an open subscription across a reload). */
  schemas: PlanningSchemas;
}

export interface PlanningSchemas {
  /** The API schema as graphql-js sees it (what clients validate against), from the gateway. */
  api: GraphQLSchema;
  /** The same, as federation-internals sees it (for operationFromDocument and executeQueryPlan). */
  federationApi: Schema;
  /** The whole supergraph as graphql-js sees it (executeQueryPlan's entity representations). */
  supergraph: GraphQLSchema;
}

/**
 * The gateway's query planner for subscriptions, made from the supergraph the
 * gateway serves (ApolloGateway keeps its own planner private): rebuilt on
 * every load or reload of the supergraph; a plan made before a reload stays
 * with the subscription it was made for.
 */
export class SubscriptionPlanner {
  private current: { planner: QueryPlanner; schemas: PlanningSchemas } | undefined;

  /** ApolloGateway's onSchemaLoadOrUpdate callback. */
  readonly update = ({ apiSchema, coreSupergraphSdl }: { apiSchema: GraphQLSchema; coreSupergraphSdl: string }): void => {
    const supergraph = Supergraph.build(coreSupergraphSdl);
    this.current = {
      planner: new QueryPlanner(supergraph),
      schemas: { api: apiSchema, federationApi: supergraph.apiSchema(), supergraph: supergraph.schema.toGraphQLJSSchema() },
    };
  };

  /** The API schema clients' subscriptions are validated against. */
  schema(): GraphQLSchema {
    if (!this.current) throw new Error('the gateway has not loaded its supergraph yet');
    return this.current.schemas.api;
  }

  /** Plans a (validated) subscription operation; a GraphQLError when the planner refuses it. */
  plan(document: DocumentNode, operationName: string | undefined): SubscriptionPlan {
    if (!this.current) throw new Error('the gateway has not loaded its supergraph yet');
    const { planner, schemas } = this.current;
    const operation = operationFromDocument(schemas.federationApi, document, { operationName });
    const plan = planner.buildQueryPlan(operation);
    const node = plan.node;
    if (node?.kind !== 'Subscription') {
      throw new GraphQLError('the query planner made no subscription plan for this operation', { extensions: { code: 'BAD_REQUEST' } });
    }
    const { primary, rest } = node;
    return {
      primary,
      rest,
      perEvent: { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [primary, rest] } : primary },
      schemas,
    };
  }
}
