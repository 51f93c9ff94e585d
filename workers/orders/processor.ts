import { UnrecoverableError, type Job } from 'bullmq';
import { isOpenBreakerError } from '../../common/breaker.ts';
import type { Logger } from '../../common/logger.ts';
import { payloadOf } from '../../common/queues.ts';
import { withJobTrace } from '../../common/tracing.ts';
import { orderJobPayload, processOrder, releaseOrder, type OrderJobData, type OrderProcessing } from '../../subgraphs/orders/module.ts';
import type { InventoryClient } from './inventory-client.ts';
import { failedWithOutage, type QueuePause } from '../pause.ts';
import { inventoryCalls, orderAttempts } from './metrics.ts';

export interface OrderProcessorDeps {
  processing: OrderProcessing;
  inventory: InventoryClient;
  /** Pauses the `orders` queue while inventory's breaker is open or PostgreSQL is unreachable. */
  pause: QueuePause;
  logger: Logger;
}

/** What a finished job leaves as its return value (shown in Bull Board). */
export type OrderJobResult = { orderId: string; status: string; outcome?: string };

/** Runs an inventory call, timing it by call and result. */
async function timed<T extends string>(call: string, run: () => Promise<T>): Promise<T> {
  const stop = inventoryCalls.startTimer({ call });
  try {
    const outcome = await run();
    stop({ result: outcome });
    return outcome;
  } catch (error) {
    stop({ result: isOpenBreakerError(error) ? 'breaker_open' : 'unavailable' });
    throw error;
  }
}

/** True when this run is the job's last attempt (no retry follows a failure). */
export function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * The `orders` queue's processor.
 *
 * `process`: PENDING → PROCESSING, reserve stock, then CONFIRMED, or FAILED
 * with OUT_OF_STOCK / UNKNOWN_PRODUCT. Either way the work is done and the job
 * completes with that outcome as its result: BullMQ's failed set holds only
 * work that could not be done (retries used up, an order or job that cannot
 * exist), so an alert on it means something is wrong
 * (docs/operations/alerts.md).
 * Anything that leaves the outcome unknown (timeout, 5xx, connection error,
 * a database error) is thrown and retried after the next ORDER_RETRY_DELAYS_MS
 * delay; the reservation is idempotent per order, so a retry after an
 * ambiguous timeout never reserves twice. On the last attempt the order
 * becomes FAILED(INVENTORY_UNAVAILABLE) and a release job is queued with it,
 * so a reservation the timed-out call may still make is given back.
 *
 * `release`: gives back what the order holds; retried until inventory answers.
 *
 * While inventory's breaker admits no call (open, or half-open with its trial
 * call in flight) neither job makes or counts an attempt: the queue is paused
 * until the breaker half-opens (workers/pause.ts), and the same while
 * PostgreSQL is unreachable. A call that fails with the outage (the half-open
 * trial finding inventory still down, or a call in flight when the outage
 * opened the breaker) is no attempt either: the job waits, delayed, for the
 * next half-open. Only real tries, failed while inventory answered others,
 * use up ORDER_RETRY_DELAYS_MS, however long an outage lasts.
 */
export function createOrderProcessor({ processing, inventory, pause, logger }: OrderProcessorDeps) {
  async function processOne(job: Job<OrderJobData>, token: string | undefined): Promise<OrderJobResult> {
    const { orderId, requestId, correlationId } = payloadOf(orderJobPayload, job);
    await pause.unlessAdmitted(inventory.breaker);
    const attempt = await processing.begin(orderId);
    if (attempt.kind === 'missing') throw new UnrecoverableError(`order ${orderId} does not exist`);
    // A repeat of a finished job (a republished outbox row, a cancel that came first): nothing to do.
    if (attempt.kind === 'finished') return { orderId, status: attempt.order.status };
    const { order } = attempt;
    const log = logger.child({ orderId, requestId, correlationId, attempt: order.attempts });

    // Another job took the half-open breaker's one trial call meanwhile: this attempt will not be made.
    // (inventory.reserve fires the breaker at once, one call per order, so this check and the trial stay together; the
    // request then waits up to INVENTORY_BATCH_WINDOW_MS for other orders' reservations, none while half-open.)
    if (!inventory.breaker.admits()) {
      await processing.uncount(orderId);
      await pause.holdFor(inventory.breaker);
    }
    let outcome;
    try {
      outcome = await timed('reserveStock', () => inventory.reserve(order.id, order.productId, order.quantity, { requestId, correlationId }));
    } catch (error) {
      if (isOpenBreakerError(error)) {
        await processing.uncount(orderId);
        await pause.holdFor(inventory.breaker);
      }
      // Inventory is down for everyone: no attempt; the reservation is idempotent, so the next try is safe.
      if (failedWithOutage(inventory.breaker)) {
        await processing.uncount(orderId);
        log.info({ err: error, breaker: inventory.breaker.state }, 'inventory down: no attempt counted, waiting for its breaker');
        await pause.setAsideFor(inventory.breaker, job, token);
      }
      if (isLastAttempt(job)) {
        log.warn({ err: error }, 'inventory unavailable on the last attempt: order FAILED, release queued');
        await processing.fail(order, 'INVENTORY_UNAVAILABLE', { release: true, detail: (error as Error).message });
        orderAttempts.inc({ outcome: 'unavailable' });
      } else {
        log.info({ err: error }, 'inventory unavailable; will retry');
        orderAttempts.inc({ outcome: 'retried' });
      }
      throw error;
    }

    switch (outcome) {
      case 'RESERVED': {
        const confirmed = await processing.confirm(order);
        // Undefined: the order left PROCESSING meanwhile (a cancel); whoever moved it queued a release, which gives this back.
        log.info({ outcome, confirmed: Boolean(confirmed) }, confirmed ? 'order confirmed' : 'reserved for an order cancelled meanwhile');
        orderAttempts.inc({ outcome: confirmed ? 'confirmed' : 'cancelled' });
        return { orderId, status: confirmed ? 'CONFIRMED' : 'CANCELLED', outcome };
      }
      case 'OUT_OF_STOCK':
      case 'UNKNOWN_PRODUCT': {
        // A business outcome, not a failure of the job: it completes, and no retry follows.
        const failed = await processing.fail(order, outcome, { release: false });
        log.info({ outcome, failed: Boolean(failed) }, failed ? 'order failed' : 'no stock for an order cancelled meanwhile');
        orderAttempts.inc({ outcome: outcome.toLowerCase() });
        return { orderId, status: failed ? 'FAILED' : 'CANCELLED', outcome };
      }
      case 'VOIDED': {
        // Released before this reservation could happen: the order was cancelled or already failed.
        const failed = await processing.fail(order, 'INVENTORY_UNAVAILABLE', { release: false, detail: 'released before reservation' });
        log.warn({ outcome, failed: Boolean(failed) }, 'reservation voided by an earlier release');
        orderAttempts.inc({ outcome: failed ? 'unavailable' : 'cancelled' });
        return { orderId, status: failed ? 'FAILED' : 'CANCELLED', outcome };
      }
      default:
        throw new Error(`inventory answered an unknown outcome ${String(outcome)}`);
    }
  }

  async function releaseOne(job: Job<OrderJobData>, token: string | undefined): Promise<OrderJobResult> {
    const { orderId, requestId, correlationId } = payloadOf(orderJobPayload, job);
    await pause.unlessAdmitted(inventory.breaker);
    let outcome;
    try {
      outcome = await timed('releaseStock', () => inventory.release(orderId, { requestId, correlationId }));
    } catch (error) {
      if (isOpenBreakerError(error)) await pause.holdFor(inventory.breaker);
      if (failedWithOutage(inventory.breaker)) await pause.setAsideFor(inventory.breaker, job, token);
      throw error;
    }
    logger.info({ orderId, outcome, attempts: job.attemptsMade + 1 }, 'order stock released');
    return { orderId, status: 'RELEASED', outcome };
  }

  return function processOrderJob(job: Job<OrderJobData>, token?: string): Promise<OrderJobResult> {
    // Each attempt is a span in the trace of the request that placed the order (its traceparent travelled in the outbox row and the job).
    return withJobTrace(job, { 'junction.order_id': String(job.data?.orderId) }, () =>
      pause.guardDatabase(async () => {
        if (releaseOrder.accepts(job.name)) return releaseOne(job, token);
        if (processOrder.accepts(job.name)) return processOne(job, token);
        throw new UnrecoverableError(`unknown job ${job.name} on the orders queue`);
      }),
    );
  };
}
