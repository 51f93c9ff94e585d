import type { ApolloServerPlugin } from '@apollo/server';
import { counter, histogram } from '../common/metrics.ts';

/** Latency buckets (seconds) of the gateway's histograms. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Distinct operation names kept as label values; later new names count as `other` (clients choose names, Prometheus needs few series). */
const MAX_OPERATION_NAMES = 200;

export const gatewayMetrics = {
  requests: counter({
    name: 'junction_gateway_requests_total',
    help: 'GraphQL requests the gateway answered, by operation type and name.',
    labelNames: ['operation_type', 'operation'],
  }),
  errors: counter({
    name: 'junction_gateway_errors_total',
    help: "Errors in the gateway's responses, by extensions.code (a response may carry several).",
    labelNames: ['code'],
  }),
  duration: histogram({
    name: 'junction_gateway_request_duration_seconds',
    help: 'Time from receiving a GraphQL request to sending its response, by operation type and name.',
    labelNames: ['operation_type', 'operation'],
    buckets: BUCKETS,
  }),
  subgraphRequests: counter({
    name: 'junction_gateway_subgraph_requests_total',
    help: 'Calls the gateway made to each subgraph (shared fetches count once), by outcome: ok, error (a GraphQL or 4xx answer), unavailable (5xx, timeout, unreachable), rejected (breaker open, no call made).',
    labelNames: ['subgraph', 'outcome'],
  }),
  subgraphDuration: histogram({
    name: 'junction_gateway_subgraph_request_duration_seconds',
    help: 'Duration of the calls the gateway made to each subgraph (breaker rejections excluded).',
    labelNames: ['subgraph'],
    buckets: BUCKETS,
  }),
  deduplicated: counter({
    name: 'junction_gateway_subgraph_fetches_deduplicated_total',
    help: 'Subgraph fetches answered by an identical fetch already in flight instead of a call of their own.',
    labelNames: ['subgraph'],
  }),
};

const seenNames = new Set<string>();

function operationLabel(name: string | undefined | null, known: boolean): string {
  if (!known) return '(invalid)';
  if (!name) return '(anonymous)';
  if (seenNames.has(name)) return name;
  if (seenNames.size >= MAX_OPERATION_NAMES) return 'other';
  seenNames.add(name);
  return name;
}

/** Counts requests and errors and times each request, by operation. */
export function gatewayMetricsPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            gatewayMetrics.errors.inc({ code: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR' });
          }
        },
        async willSendResponse({ operation, operationName }) {
          const labels = { operation_type: operation?.operation ?? 'unknown', operation: operationLabel(operationName, operation !== undefined) };
          gatewayMetrics.requests.inc(labels);
          gatewayMetrics.duration.observe(labels, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
