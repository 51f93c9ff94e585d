import { counter, histogram } from '../../common/metrics.ts';

/** How each processing attempt of an order ended. */
export const orderAttempts = counter({
  name: 'order_attempts_total',
  help: 'Order processing attempts by outcome: confirmed, out_of_stock, unknown_product, retried (inventory gave no answer; another attempt is scheduled), unavailable (retries used up), cancelled (the order was cancelled meanwhile).',
  labelNames: ['outcome'],
});

// Present at zero from the start, so dashboards and alerts see every outcome.
for (const outcome of ['confirmed', 'out_of_stock', 'unknown_product', 'retried', 'unavailable', 'cancelled']) orderAttempts.inc({ outcome }, 0);

/** Inventory calls made by the order worker, by call and result. */
export const inventoryCalls = histogram({
  name: 'order_inventory_call_seconds',
  help: "Duration of the order worker's reserveStock / releaseStock calls to inventory, by result (the outcome, or unavailable).",
  labelNames: ['call', 'result'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

/** HTTP requests the order worker sends inventory to reserve (several orders' reservations may share one). */
export const reserveRequests = counter({
  name: 'order_inventory_reserve_requests_total',
  help: 'reserveStocks requests the order worker sent to inventory; reservations asked for within INVENTORY_BATCH_WINDOW_MS of each other share one (up to INVENTORY_BATCH_MAX), so order_inventory_call_seconds_count{call="reserveStock"} over this is the orders per request.',
});
reserveRequests.inc(0);
