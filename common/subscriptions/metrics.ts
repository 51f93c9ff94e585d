import { counter, gauge, histogram } from '../metrics.ts';

/** Subscriptions a subgraph serves, by protocol (`sse`, `ws`); Prometheus metrics on its /metrics (docs/api/subscriptions.md). */
export const openSubscriptions = gauge({
  name: 'junction_subgraph_subscriptions_open',
  help: 'Subscriptions open on this subgraph process, by protocol (sse: GraphQL over SSE, ws: graphql-ws).',
  labelNames: ['subgraph', 'protocol'],
});

export const subscriptionEvents = counter({
  name: 'junction_subgraph_subscription_events_total',
  help: 'Events sent to subscribers (each a GraphQL result), by protocol and Subscription field.',
  labelNames: ['subgraph', 'protocol', 'field'],
});

export const slowSubscribersDropped = counter({
  name: 'junction_subgraph_subscription_slow_dropped_total',
  help: 'Subscriptions ended because their subscriber fell more than SUBSCRIPTION_QUEUE_MAX events behind.',
  labelNames: ['subgraph'],
});

export const deliveryLatency = histogram({
  name: 'junction_subgraph_subscription_delivery_seconds',
  help: 'From a change being made (its transaction began) to its event being handed to the connection, by Subscription field.',
  labelNames: ['subgraph', 'field'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});
