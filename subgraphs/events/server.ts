import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { SubgraphDeps } from '../../common/subgraph-module.ts';
import type { EventsConfig } from './settings.ts';
import { createSubgraphApp } from '../../common/subgraph.ts';
import { createContext } from './context.ts';
import type { Resolvers } from './generated/resolvers.ts';
import { createEventRegistry, type EventRegistry } from './registry.ts';
import { EventsRepository } from './repository.ts';
import { Event } from './resolvers/Event.ts';
import { Mutation } from './resolvers/Mutation.ts';
import { Query } from './resolvers/Query.ts';
import { User } from './resolvers/User.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

const resolvers: Resolvers = { Query, Mutation, Event, User };

export interface EventsDeps extends SubgraphDeps<EventsConfig> {
  /** The external event registry addEvent registers with first. Default: the one at EVENT_REGISTRY_URL (none when it is empty: registration off). */
  registry?: EventRegistry;
}

/** The events subgraph as an express app; index.ts listens, tests use it on a free port. */
export async function createEventsSubgraph({ db, config, logger, registry: given }: EventsDeps) {
  const repo = new EventsRepository(db);
  // One registry breaker for the life of the subgraph (the process, outside tests).
  const owned = given ? undefined : createEventRegistry(config, logger);
  const registry = given ?? owned;
  const subgraph = await createSubgraphApp(
    { db, config, logger },
    { name: 'events', typeDefs, resolvers, context: (base) => createContext(repo, registry, base) },
  );
  return {
    ...subgraph,
    async close() {
      await owned?.close();
    },
  };
}
