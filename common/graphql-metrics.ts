import type { ApolloServerPlugin } from '@apollo/server';
import { counter, histogram } from './metrics.ts';

/** Latency buckets (seconds) of a subgraph's request histogram. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Operation names kept as label values per subgraph; past that they count as `other`, so clients cannot blow up the series. */
const MAX_OPERATION_NAMES = 200;

const requests = counter({
  name: 'junction_subgraph_requests_total',
  help: 'GraphQL operations a subgraph answered, by operation type and name (the gateway names each subgraph fetch after the client operation).',
  labelNames: ['subgraph', 'operation_type', 'operation'],
});
const errors = counter({
  name: 'junction_subgraph_errors_total',
  help: "Errors in a subgraph's responses, by extensions.code (a response may carry several).",
  labelNames: ['subgraph', 'code'],
});
const duration = histogram({
  name: 'junction_subgraph_request_duration_seconds',
  help: 'Time from receiving a GraphQL operation to sending its response, by operation type and name.',
  labelNames: ['subgraph', 'operation_type', 'operation'],
  buckets: BUCKETS,
});

/** Counts a subgraph's requests and errors and times each, by operation (Prometheus metrics on /metrics). */
export function subgraphMetricsPlugin(subgraph: string): ApolloServerPlugin {
  const names = new Set<string>();
  const label = (name: string | null | undefined, parsed: boolean) => {
    if (!parsed) return '(invalid)';
    if (!name) return '(anonymous)';
    if (!names.has(name) && names.size >= MAX_OPERATION_NAMES) return 'other';
    names.add(name);
    return name;
  };
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async didEncounterErrors({ errors: list }) {
          for (const error of list) {
            const code = error.extensions?.code;
            errors.inc({ subgraph, code: typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR' });
          }
        },
        async willSendResponse({ operation, operationName }) {
          const labels = { subgraph, operation_type: operation?.operation ?? 'unknown', operation: label(operationName, operation !== undefined) };
          requests.inc(labels);
          duration.observe(labels, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
