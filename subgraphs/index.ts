import type { AnyJob } from '../common/jobs.ts';
import events from './events/module.ts';
import inventory from './inventory/module.ts';
import notifications from './notifications/module.ts';
import orders from './orders/module.ts';
import users from './users/module.ts';

/**
 * Every subgraph of Junction, in start order. `npm run compose`
 * (supergraph.yaml), drizzle-kit, the outbox relay and the test stack read this
 * list; the gateway and the launcher read the catalog of processes
 * (scripts/catalog.ts, data only). Adding a subgraph is its folder (with a
 * module.ts and a settings.ts), one line here and one in the catalog.
 */
export const SUBGRAPHS = [users, events, inventory, orders, notifications] as const;

export type Subgraph = (typeof SUBGRAPHS)[number];
export type SubgraphName = Subgraph['name'];

/** Every kind of job a subgraph produces, as its module declares it (the outbox relay publishes them). */
export const JOBS: readonly AnyJob[] = SUBGRAPHS.flatMap((s): readonly AnyJob[] => s.jobs ?? []);

/** Every BullMQ queue of Junction (Bull Board shows them; the workers consume them). */
export const QUEUE_NAMES: readonly string[] = [...new Set(JOBS.map((job) => job.queue.name))];
