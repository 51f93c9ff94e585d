import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { SubgraphDeps } from '../../common/subgraph-module.ts';
import type { InventoryConfig } from './settings.ts';
import { createSubgraphApp } from '../../common/subgraph.ts';
import { createContext } from './context.ts';
import type { Expect, Same } from '../../common/type-checks.ts';
import type { ReservationOutcome as SchemaReservationOutcome, Resolvers } from './generated/resolvers.ts';
import type { ReservationOutcome } from './reservations.ts';
import { Gremlin } from './gremlin.ts';
import { InventoryRepository } from './repository.ts';
import { ReservationsRepository } from './reservations.ts';
import { Mutation } from './resolvers/Mutation.ts';
import { Product } from './resolvers/Product.ts';
import { Query } from './resolvers/Query.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

const resolvers: Resolvers = { Query, Mutation, Product };

/** The inventory subgraph as an express app; index.ts listens, tests use it on a free port. */
export async function createInventorySubgraph({ db, config, logger }: SubgraphDeps<InventoryConfig>) {
  const repo = new InventoryRepository(db);
  const reservations = new ReservationsRepository(db);
  const gremlin = new Gremlin(logger);
  const subgraph = await createSubgraphApp(
    { db, config, logger },
    { name: 'inventory', typeDefs, resolvers, context: (base) => createContext(repo, reservations, base), routes: (app) => gremlin.routes(app) },
  );
  return {
    ...subgraph,
    /** Lets requests the gremlin is holding go on, so shutdown need not wait for them. */
    close: async () => gremlin.stop(),
  };
}

/** The domain's enum types are the schema's (generated/resolvers.ts), declared apart so that the code the generated types name imports none of them: tsc fails here when they part. */
export type EnumsAreTheSchemas = Expect<Same<ReservationOutcome, SchemaReservationOutcome>>;
