import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { SubgraphDeps } from '../../common/subgraph-module.ts';
import type { OrdersConfig } from './settings.ts';
import { createSubgraphApp } from '../../common/subgraph.ts';
import { ChangeFeed } from './change-feed.ts';
import { ChangeLog } from './change-log.ts';
import { createContext, eventContext } from './context.ts';
import type { Expect, Same } from '../../common/type-checks.ts';
import type { OrderFailureReason as SchemaOrderFailureReason, OrderStatus as SchemaOrderStatus, Resolvers } from './generated/resolvers.ts';
import type { OrderFailureReason, OrderStatus } from './repository.ts';
import { OrderStreams } from './order-streams.ts';
import { OrdersRepository } from './repository.ts';
import { Mutation } from './resolvers/Mutation.ts';
import { Order } from './resolvers/Order.ts';
import { Query } from './resolvers/Query.ts';
import { Subscription } from './resolvers/Subscription.ts';
import { User } from './resolvers/User.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

const resolvers: Resolvers = { Query, Mutation, Subscription, Order, User };

/**
 * The orders subgraph as an express app, with its subscriptions served beside
 * it (listenSubgraph attaches their WebSockets); index.ts listens, tests use
 * it on a free port. close() stops its change feed.
 */
export async function createOrdersSubgraph({ db, config, logger }: SubgraphDeps<OrdersConfig>) {
  const repo = new OrdersRepository(db);
  const log = new ChangeLog(db);
  const feed = new ChangeFeed(log, db.$client, logger);
  const streams = new OrderStreams(feed, log, { queueMax: config.SUBSCRIPTION_QUEUE_MAX, replayHours: config.SUBSCRIPTION_REPLAY_HOURS });
  const subgraph = await createSubgraphApp(
    { db, config, logger },
    {
      name: 'orders',
      typeDefs,
      resolvers,
      context: (base) => createContext({ repo, streams }, base),
      subscriptions: { context: (base) => createContext({ repo, streams }, base), perEvent: eventContext },
    },
  );
  return { ...subgraph, close: () => feed.stop() };
}

/** The domain's enum types are the schema's (generated/resolvers.ts), declared apart so that the code the generated types name imports none of them: tsc fails here when they part. */
export type EnumsAreTheSchemas = [Expect<Same<OrderStatus, SchemaOrderStatus>>, Expect<Same<OrderFailureReason, SchemaOrderFailureReason>>];
