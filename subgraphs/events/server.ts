import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { parse } from 'graphql';
import type { SubgraphDeps } from '../../common/run-subgraph.ts';
import { createSubgraphApp } from '../../common/subgraph.ts';
import { createContext } from './context.ts';
import type { EventRegistry } from './registry.ts';
import { EventsRepository } from './repository.ts';
import { Event } from './resolvers/Event.ts';
import { Mutation } from './resolvers/Mutation.ts';
import { Query } from './resolvers/Query.ts';
import { User } from './resolvers/User.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

export interface EventsDeps extends SubgraphDeps {
  /** The external event registry addEvent registers with first; none means registration is off. */
  registry?: EventRegistry;
}

/** The events subgraph as an express app; index.ts listens, tests use it on a free port. */
export function createEventsSubgraph({ db, config, logger, registry }: EventsDeps) {
  const repo = new EventsRepository(db);
  return createSubgraphApp({
    name: 'events',
    typeDefs,
    resolvers: { Query, Mutation, Event, User },
    context: (base) => createContext(repo, registry, base),
    logger,
    production: config.production,
    ready: async () => {
      await db.execute(sql`select 1`);
    },
  });
}
