import type { Database } from '../../common/db.ts';
import type { OutboxTable } from '../../common/outbox-table.ts';
import { defineSubgraph, type SubgraphFactory } from '../../common/subgraph-module.ts';
import { orderConfirmed, orderFailed, processOrder, releaseOrder } from './jobs.ts';
import type { OrderProcessing } from './processing.ts';

// What the order workers use of orders: its jobs, and the order state transitions (loaded on demand).
export { orderConfirmed, orderFailed, orderJobPayload, ordersQueue, processOrder, releaseJobId, releaseOrder, type OrderJobData } from './jobs.ts';
export type { Attempt, OrderProcessing } from './processing.ts';
export type { OrderFailureReason, OrderRow, OrderStatus } from './repository.ts';

/** The order state transitions on `db` (processing.ts), imported on first use: drizzle and the tables stay out of processes that only need the facts. */
export async function orderProcessing(db: Database): Promise<OrderProcessing> {
  const { OrderProcessing } = await import('./processing.js');
  return new OrderProcessing(db);
}

/** The orders subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(import.meta.url, {
  name: 'orders',
  defaultPort: 4003,
  // Imported on first use, as '.js': tsx runs server.ts for it, and tsc does not rewrite dynamic imports for dist/.
  load: async (): Promise<SubgraphFactory> => (await import('./server.js')).createOrdersSubgraph,
  outbox: async (): Promise<OutboxTable> => (await import('./db.js')).ordersOutbox,
  jobs: [processOrder, releaseOrder, orderConfirmed, orderFailed],
});
