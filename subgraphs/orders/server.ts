import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { SubgraphDeps } from '../../common/run-subgraph.ts';
import { createSubgraphApp } from '../../common/subgraph.ts';
import { createContext } from './context.ts';
import type { Resolvers } from './generated/resolvers.ts';
import { OrdersRepository } from './repository.ts';
import { Mutation } from './resolvers/Mutation.ts';
import { Order } from './resolvers/Order.ts';
import { Query } from './resolvers/Query.ts';
import { User } from './resolvers/User.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

const resolvers: Resolvers = { Query, Mutation, Order, User };

/** The orders subgraph as an express app; index.ts listens, tests use it on a free port. */
export function createOrdersSubgraph({ db, config, logger }: SubgraphDeps) {
  const repo = new OrdersRepository(db);
  return createSubgraphApp({ db, config, logger }, { name: 'orders', typeDefs, resolvers, context: (base) => createContext(repo, base) });
}
