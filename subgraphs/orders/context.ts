import type { CallerContext } from '../../common/subgraph.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { OrderStreams } from './order-streams.ts';
import type { OrdersRepository } from './repository.ts';

export interface OrdersContext extends CallerContext {
  repo: OrdersRepository;
  loaders: Loaders;
  /** The subscriptions (orderUpdated, orderUpdates). */
  streams: OrderStreams;
}

export function createContext(deps: { repo: OrdersRepository; streams: OrderStreams }, base: CallerContext): OrdersContext {
  return { ...base, ...deps, loaders: createLoaders(deps.repo) };
}

/** The context an event of a subscription is executed with: the subscription's, with DataLoaders of its own. */
export function eventContext(context: OrdersContext): OrdersContext {
  return { ...context, loaders: createLoaders(context.repo) };
}
