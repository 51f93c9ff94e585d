import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import type { Partner } from '../../common/partner.ts';
import type { SubgraphDeps } from '../../common/subgraph-module.ts';
import type { UsersConfig } from './settings.ts';
import { createSubgraphApp } from '../../common/subgraph.ts';
import { createContext } from './context.ts';
import type { Expect, Same } from '../../common/type-checks.ts';
import type { EnrichmentStatus as SchemaEnrichmentStatus, Resolvers } from './generated/resolvers.ts';
import type { EnrichmentStatus } from './enrichment.ts';
import { createEnrichmentPartner, Enrichments } from './enrichment.ts';
import { UsersRepository } from './repository.ts';
import { Mutation } from './resolvers/Mutation.ts';
import { Query } from './resolvers/Query.ts';
import { Event, Notification, Order } from './resolvers/references.ts';
import { User } from './resolvers/User.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

const resolvers: Resolvers = { Query, Mutation, User, Event, Order, Notification };

/** The users subgraph as an express app; index.ts listens, tests use it on a free port. */
export async function createUsersSubgraph({ db, config, logger }: SubgraphDeps<UsersConfig>) {
  const repo = new UsersRepository(db);
  // One enrichment breaker for the life of the subgraph (the process, outside tests).
  const enrichment: Partner = createEnrichmentPartner(config, logger);
  const enrichments = new Enrichments(repo, enrichment, { ttlMs: config.ENRICHMENT_TTL_MS, logger });
  const subgraph = await createSubgraphApp(
    { db, config, logger },
    { name: 'users', typeDefs, resolvers, context: (base) => createContext(repo, enrichments, base) },
  );
  return {
    ...subgraph,
    /** The enrichment service's client and breaker (tests and benchmarks read its state). */
    enrichment,
    async close() {
      await enrichment.close();
    },
  };
}

/** The domain's enum types are the schema's (generated/resolvers.ts), declared apart so that the code the generated types name imports none of them: tsc fails here when they part. */
export type EnumsAreTheSchemas = Expect<Same<EnrichmentStatus, SchemaEnrichmentStatus>>;
