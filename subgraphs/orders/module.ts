import type { Database } from '../../common/db.ts';
import { defineSubgraph } from '../../common/subgraph-module.ts';
import { ordersSettings } from './settings.ts';
import { orderConfirmed, orderFailed, processOrder, releaseOrder } from './jobs.ts';
import type { OrderProcessing } from './processing.ts';

// What the order workers use of orders: its jobs, and the order state transitions (loaded on demand).
export { orderConfirmed, orderFailed, orderJobPayload, ordersQueue, processOrder, releaseJobId, releaseOrder, type OrderJobData } from './jobs.ts';
export type { Attempt, OrderProcessing } from './processing.ts';
export type { OrderFailureReason, OrderRow, OrderStatus } from './repository.ts';

/** The order state transitions on `db` (processing.ts), imported on first use: drizzle and the tables stay out of processes that only need the facts. */
export async function orderProcessing(db: Database): Promise<OrderProcessing> {
  return new (await import('./processing.js')).OrderProcessing(db);
}

/** The orders subgraph, described once (listed in subgraphs/index.ts). */
export default defineSubgraph(
  import.meta.url,
  { name: 'orders', defaultPort: 4003, settings: ordersSettings, jobs: [processOrder, releaseOrder, orderConfirmed, orderFailed] },
  {
    server: () => import('./server.js'),
    outbox: () => import('./db.js'),
  },
);
