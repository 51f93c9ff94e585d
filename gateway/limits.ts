import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, Kind, validate, visit, type DocumentNode, type GraphQLSchema, type ValidationContext } from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import type { GatewayConfig as Config } from './settings.ts';

export type LimitCode = 'MAX_DEPTH_LIMIT' | 'MAX_ALIASES_LIMIT' | 'MAX_DIRECTIVES_LIMIT' | 'COST_ESTIMATED_TOO_EXPENSIVE';

/** Most directives in one operation (fragments followed): no real operation comes near it; thousands of `@include` are a cheap way to burn the gateway's CPU. */
export const MAX_DIRECTIVES = 50;

type LimitSettings = Pick<Config, 'MAX_QUERY_DEPTH' | 'MAX_ALIASES' | 'MAX_QUERY_TOKENS' | 'MAX_QUERY_COST'>;

/** A rejected operation: HTTP 400 with `code`, before anything is executed. */
function limitError(code: LimitCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions, http: { status: 400 } } });
}

/**
 * The estimated cost of a field: 1, plus its selections once per row it can
 * return. A field with a `first` argument (given or defaulted, e.g. User.orders'
 * 50) returns up to that many rows; any other field one row (`nodes` of a
 * connection is already counted by the connection's `first`). So
 * `users(first: 100) { nodes { orders(first: 50) { id } } }` costs about 100 x 50.
 */
export const rowsEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  const first = typeof args.first === 'number' && Number.isFinite(args.first) ? Math.max(1, Math.floor(args.first)) : 1;
  return 1 + first * childComplexity;
};

/** The estimated cost of `operationName` in `document` (every operation when unnamed), as rowsEstimator counts it. */
export function estimateCost(args: Omit<Parameters<typeof getComplexity>[0], 'estimators'>): number {
  return getComplexity({ ...args, estimators: [rowsEstimator] });
}

/**
 * True when no variable can change `document`'s estimated cost: rowsEstimator
 * reads only `first`, and getComplexity follows `@include` and `@skip`; so the
 * cost depends on variables only where a `first` argument or a directive's
 * argument is (or holds) a variable.
 */
export function costIgnoresVariables(document: DocumentNode): boolean {
  let ignores = true;
  const holdsVariable = (node: object): boolean => {
    let found = false;
    visit(node as DocumentNode, {
      Variable() {
        found = true;
      },
    });
    return found;
  };
  visit(document, {
    Argument(node) {
      if (node.name.value === 'first' && holdsVariable(node.value)) ignores = false;
    },
    Directive(node) {
      if ((node.arguments ?? []).some((arg) => arg.value.kind !== Kind.NULL && holdsVariable(arg.value))) ignores = false;
    },
  });
  return ignores;
}

/** graphql-query-complexity stops walking (and throws this) at 10,000 selections, e.g. fragments spread into each other exponentially. */
const TOO_MANY_NODES = 'Query exceeds the maximum allowed number of nodes.';

/**
 * Apollo Server options and plugin that reject an operation before it is
 * executed (so no subgraph is called): more tokens than MAX_QUERY_TOKENS
 * (graphql-js' parser, GRAPHQL_PARSE_FAILED), nesting deeper than
 * MAX_QUERY_DEPTH, more aliases than MAX_ALIASES and more directives than
 * MAX_DIRECTIVES (GraphQL Armor's rules; fragments are followed, also one
 * named `__schema`), and an estimated cost
 * above MAX_QUERY_COST (graphql-query-complexity with rowsEstimator). All HTTP 400.
 */
export function queryLimits(config: LimitSettings) {
  const rules = [
    maxDepthRule({
      n: config.MAX_QUERY_DEPTH,
      // Fragments add no depth of their own: depth is how deep fields nest.
      flattenFragments: true,
      propagateOnRejection: false,
      onReject: [(context, error) => report(context, 'MAX_DEPTH_LIMIT', error)],
    }),
    maxAliasesRule({
      n: config.MAX_ALIASES,
      propagateOnRejection: false,
      onReject: [(context, error) => report(context, 'MAX_ALIASES_LIMIT', error)],
    }),
    maxDirectivesRule({
      n: MAX_DIRECTIVES,
      propagateOnRejection: false,
      onReject: [(context, error) => report(context, 'MAX_DIRECTIVES_LIMIT', error)],
    }),
  ];

  function report(context: ValidationContext | null, code: LimitCode, error: GraphQLError) {
    context?.reportError(limitError(code, error.message.replace(/^Syntax Error: /, '')));
  }

  /**
   * Documents (by schema: a new supergraph starts afresh) found within every
   * limit, with the operation names whose cost no variable can change: Apollo
   * Server hands the same parsed document to every request that sends the same
   * text, so each is walked once, not on every request. A document over a limit
   * is checked again each time (its error stays what it was).
   */
  const passed = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, { fixedCost: boolean; names: Set<string>; withinCost: Set<string> }>>();

  /** The first limit `document` breaks (depth, aliases, directives, cost), or undefined. */
  function check(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Record<string, unknown>,
    operationName: string | undefined,
  ): GraphQLError | undefined {
    let known = passed.get(schema);
    if (!known) passed.set(schema, (known = new WeakMap()));
    let seen = known.get(document);
    if (!seen) {
      const [first] = validate(schema, document, rules);
      if (first) return first;
      const names = new Set(document.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? [d.name?.value ?? ''] : [])));
      known.set(document, (seen = { fixedCost: costIgnoresVariables(document), names, withinCost: new Set() }));
    }
    const name = operationName ?? '';
    if (seen.withinCost.has(name)) return undefined;
    let cost: number;
    try {
      cost = estimateCost({ schema, query: document, variables, operationName });
    } catch (error) {
      if (error instanceof GraphQLError && error.message === TOO_MANY_NODES) cost = Infinity;
      // Variables that do not fit the operation: execution rejects them with BAD_USER_INPUT before any subgraph call.
      else return undefined;
    }
    if (cost <= config.MAX_QUERY_COST) {
      // Only names the document defines (or none): a client cannot grow the set with names of its own.
      if (seen.fixedCost && (operationName === undefined || seen.names.has(name))) seen.withinCost.add(name);
      return undefined;
    }
    const found = Number.isFinite(cost) ? `, estimated ${cost}` : '';
    return limitError('COST_ESTIMATED_TOO_EXPENSIVE', `Query cost limit of ${config.MAX_QUERY_COST} exceeded${found}.`, {
      maxCost: config.MAX_QUERY_COST,
      ...(Number.isFinite(cost) ? { cost } : {}),
    });
  }

  const plugin: ApolloServerPlugin = {
    async requestDidStart() {
      return {
        // After parsing and validation, before execution (also for a document Apollo had cached).
        async didResolveOperation({ document, schema, request }) {
          const error = check(schema, document, request.variables ?? {}, request.operationName ?? undefined);
          if (error) throw error;
        },
      };
    },
  };

  return {
    /** graphql-js counts tokens while parsing and stops at the limit (GRAPHQL_PARSE_FAILED, HTTP 400). */
    parseOptions: { maxTokens: config.MAX_QUERY_TOKENS },
    plugin,
    /** The same checks for an operation that does not go through Apollo Server (a subscription). */
    check,
  };
}
