import type { AnyJob } from '../common/jobs.ts';
import type { ExportsWhatItNames } from '../common/subgraph-module.ts';
import events from './events/module.ts';
import inventory from './inventory/module.ts';
import notifications from './notifications/module.ts';
import orders from './orders/module.ts';
import users from './users/module.ts';

/**
 * Every subgraph of Junction, in start order. The gateway, `npm start`,
 * `npm run compose` (supergraph.yaml), config validation, drizzle-kit, the
 * outbox relay and the test stack all read this list: adding a subgraph is its
 * folder (with a module.ts) and one line here.
 */
export const SUBGRAPHS = [users, events, inventory, orders, notifications] as const;

export type Subgraph = (typeof SUBGRAPHS)[number];
export type SubgraphName = Subgraph['name'];

/** Fails tsc unless every module's server.ts (and db.ts) exports the factory (and outbox) its name promises. */
type Expect<T extends true> = T;
export type ModulesExportWhatTheyName = Expect<ExportsWhatItNames<Subgraph>>;

/** Every kind of job a subgraph produces, as its module declares it (the outbox relay publishes them). */
export const JOBS: readonly AnyJob[] = SUBGRAPHS.flatMap((s): readonly AnyJob[] => ('jobs' in s ? s.jobs : []));

/** Every BullMQ queue of Junction (Bull Board shows them; the workers consume them). */
export const QUEUE_NAMES: readonly string[] = [...new Set(JOBS.map((job) => job.queue.name))];
