import type { Database } from '../../common/db.ts';
import type { OutboxMessage } from '../../common/jobs.ts';
import { currentTraceparent } from '../../common/tracing.ts';
import { orderConfirmed, orderFailed, releaseOrder } from './jobs.ts';
import { OrdersRepository, type OrderFailureReason, type OrderRow, type OrderStatus } from './repository.ts';

export const TERMINAL: readonly OrderStatus[] = ['CONFIRMED', 'FAILED', 'CANCELLED'];

/** The outbox row of an order's release job: gives back whatever stock the order may hold, retried until inventory answers; in the trace of the active span. */
export function releaseJobMessage(orderId: string): OutboxMessage {
  return releaseOrder.message({ orderId, traceparent: currentTraceparent() });
}

/**
 * The outbox row of an ORDER_CONFIRMED / ORDER_FAILED event, for the
 * notifications capability, made before the change it announces: the
 * transition that writes it sets its timestamp to the change's time
 * (in the trace of the worker's span: announce() stores it).
 */
export function orderEventMessage(
  order: Pick<OrderRow, 'id' | 'userId' | 'productId' | 'quantity'>,
  status: 'CONFIRMED' | 'FAILED',
  failureReason?: OrderFailureReason,
): OutboxMessage {
  const event = status === 'CONFIRMED' ? orderConfirmed : orderFailed;
  return event.announce(
    { userId: order.userId, orderId: order.id, productId: order.productId, quantity: order.quantity, status, ...(failureReason ? { failureReason } : {}) },
    new Date(),
  );
}

export type Attempt = { kind: 'process'; order: OrderRow } | { kind: 'finished'; order: OrderRow } | { kind: 'missing' };

/**
 * The order worker's side of an order's life. Every change is a conditional
 * transition (OrdersRepository.transition), so a cancel that got there first
 * always wins; terminal ones carry their notification event in the same
 * transaction.
 */
export class OrderProcessing {
  private readonly repo: OrdersRepository;

  constructor(db: Database) {
    this.repo = new OrdersRepository(db);
  }

  /** Starts an attempt: counts it, moving a PENDING order to PROCESSING (a retry stays PROCESSING, with no new history row). */
  async begin(orderId: string): Promise<Attempt> {
    const started =
      (await this.repo.transition(orderId, { from: ['PENDING'], to: 'PROCESSING', countAttempt: true })) ??
      (await this.repo.countAttempt(orderId, 'PROCESSING'));
    if (started) return { kind: 'process', order: started };
    const [order] = await this.repo.byIds([orderId]);
    if (!order) return { kind: 'missing' };
    if (TERMINAL.includes(order.status)) return { kind: 'finished', order };
    // It moved between the two statements (a cancel, or a concurrent run of the same job): look again.
    return this.begin(orderId);
  }

  /** Takes back the attempt begin() counted when it was never made (inventory's breaker was open). */
  uncount(orderId: string): Promise<void> {
    return this.repo.uncountAttempt(orderId);
  }

  /** Orders still PENDING or PROCESSING with no change for `olderThanMs`, `limit` of them by id after `after` (for the order worker's recovery sweep). */
  stale(olderThanMs: number, limit: number, after?: string): Promise<OrderRow[]> {
    return this.repo.stale(olderThanMs, limit, after);
  }

  /** PROCESSING → CONFIRMED with its ORDER_CONFIRMED event; undefined when the order had left PROCESSING (cancelled). */
  confirm(order: OrderRow): Promise<OrderRow | undefined> {
    return this.repo.transition(order.id, { from: ['PROCESSING'], to: 'CONFIRMED', outbox: [orderEventMessage(order, 'CONFIRMED')] });
  }

  /**
   * PENDING/PROCESSING → FAILED(reason) with its ORDER_FAILED event; undefined
   * when the order had already left them (or does not exist). `release` also
   * queues the release of any reservation an ambiguous (timed-out) attempt may
   * still make. `order`: its row as last read, or its id.
   */
  async fail(order: OrderRow | string, reason: OrderFailureReason, options: { release: boolean; detail?: string }): Promise<OrderRow | undefined> {
    const known = typeof order === 'string' ? (await this.repo.byIds([order]))[0] : order;
    if (!known) return undefined;
    return this.repo.transition(known.id, {
      from: ['PENDING', 'PROCESSING'],
      to: 'FAILED',
      failureReason: reason,
      reason: (options.detail ? `${reason}: ${options.detail}` : reason).slice(0, 500),
      outbox: [orderEventMessage(known, 'FAILED', reason), ...(options.release ? [releaseJobMessage(known.id)] : [])],
    });
  }
}
