import { counter } from '../../common/metrics.ts';

/** Delivery outcomes, one count per attempt that ended: sent, retried (another attempt scheduled) or failed (final). */
export const deliveries = counter({
  name: 'notification_deliveries_total',
  help: 'Notification delivery attempts by outcome: sent, retried (another attempt is scheduled) or failed (retries used up or refused; in the failed set).',
  labelNames: ['outcome'],
});

// Present at zero from the start, so dashboards and alerts see every outcome.
for (const outcome of ['sent', 'retried', 'failed']) deliveries.inc({ outcome }, 0);
