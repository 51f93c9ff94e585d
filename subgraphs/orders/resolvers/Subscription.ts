import { deliveryLatency } from '../../../common/subscriptions/metrics.ts';
import type { SubscriptionResolvers } from '../generated/resolvers.ts';
import type { Delivery, OrderUpdateEvent } from '../order-streams.ts';
import type { OrderView } from '../repository.ts';

/** An event's value, timing its delivery from the change it reports. */
function delivered<T>(field: string, { value, madeAt }: Delivery<T>): T {
  if (madeAt) deliveryLatency.observe({ subgraph: 'orders', field }, Math.max(0, Date.now() - madeAt.getTime()) / 1000);
  return value;
}

// Served as GraphQL over SSE and over graphql-ws (common/subscriptions/), never through Apollo Server's HTTP handler.
export const Subscription: SubscriptionResolvers = {
  orderUpdated: {
    subscribe: (_, { id }, ctx) => ctx.streams.orderUpdated(ctx, id),
    resolve: (event: Delivery<OrderView>) => delivered('orderUpdated', event),
  },
  orderUpdates: {
    subscribe: (_, args, ctx) => ctx.streams.orderUpdates(ctx, args),
    resolve: (event: Delivery<OrderUpdateEvent>) => delivered('orderUpdates', event),
  },
};
