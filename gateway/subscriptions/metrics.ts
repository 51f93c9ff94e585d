import { counter, gauge, histogram } from '../../common/metrics.ts';

/** The gateway's subscriptions on its /metrics (docs/api/subscriptions.md). */
export const subscriptionMetrics = {
  open: gauge({
    name: 'junction_gateway_subscriptions_open',
    help: 'Subscriptions open on this gateway process, by protocol (sse: GraphQL over SSE, ws: graphql-ws, multipart: Apollo multipart HTTP).',
    labelNames: ['protocol'],
  }),
  events: counter({
    name: 'junction_gateway_subscription_events_total',
    help: 'Results sent to subscribers through the gateway, by protocol and Subscription field.',
    labelNames: ['protocol', 'field'],
  }),
  slowDropped: counter({
    name: 'junction_gateway_subscription_slow_dropped_total',
    help: 'Subscriptions ended because their subscriber fell more than SUBSCRIPTION_QUEUE_MAX events behind.',
  }),
  refused: counter({
    name: 'junction_gateway_subscriptions_refused_total',
    help: "Subscriptions refused by the gateway's own limits, by reason (per_viewer: SUBSCRIPTIONS_PER_VIEWER open already).",
    labelNames: ['reason'],
  }),
  resolve: histogram({
    name: 'junction_gateway_subscription_event_seconds',
    help: "From a subgraph's subscription event reaching the gateway to its result being ready (the fields other subgraphs own resolved); commit to gateway is the subgraph's junction_subgraph_subscription_delivery_seconds.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  }),
};
