import { randomUUID } from 'node:crypto';
import { currentTraceparent } from '../../common/tracing.ts';
import { and, asc, count, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../common/db.ts';
import { byKey, firstPerParent, olderThan, pageAfter, type Ordering } from '../../common/sql.ts';
import { columnsOf, names, statement, value } from '../../common/statement.ts';
import type { OutboxMessage } from '../../common/jobs.ts';
import { OUTBOX_CHANNEL } from '../../common/queues.ts';
import { orderStatusChanges, orders, ordersOutbox } from './db.ts';
import { processOrder } from './jobs.ts';

export type OrderRow = typeof orders.$inferSelect;
export type StatusChangeRow = typeof orderStatusChanges.$inferSelect;
/** An order as the schema's Order shows it: as it is, or as one of its changes left it (orderUpdated's events). */
export type OrderView = OrderRow & {
  /** Set when the order is shown as of its change with this id: its history ends there. */
  historyUpTo?: number;
};
// The SDL's enums (generated): should a drizzle pgEnum ever differ, writing one to its column fails to typecheck.
/** An order's status: the schema's OrderStatus (server.ts checks they are the same). */
export type OrderStatus = 'PENDING' | 'PROCESSING' | 'CONFIRMED' | 'FAILED' | 'CANCELLED';
/** Why an order FAILED: the schema's OrderFailureReason (server.ts checks they are the same). */
export type OrderFailureReason = 'OUT_OF_STOCK' | 'UNKNOWN_PRODUCT' | 'INVENTORY_UNAVAILABLE';

/** Orders' order: newest first (createdAt, then id, descending). */
const NEWEST_FIRST: Ordering = { keys: [orders.createdAt, orders.id], direction: 'desc' };

export interface NewOrder {
  userId: string;
  productId: string;
  quantity: number;
  idempotencyKey: string | null;
}

export interface OrderFilter {
  userId?: string;
  status?: OrderStatus;
}

/** A status change: applied only while the order is in one of `from`. */
export interface Transition {
  from: readonly OrderStatus[];
  to: OrderStatus;
  /** Kept in the history row. */
  reason?: string | null;
  /** Set on the order (FAILED only); cleared otherwise. */
  failureReason?: OrderFailureReason | null;
  /** Counts a processing attempt. */
  countAttempt?: boolean;
  /**
   * Outbox rows written with the change, and only if it is made. A payload's
   * `timestamp` (an announced event's) is set to the time of the change, the
   * order's new updatedAt.
   */
  outbox?: readonly OutboxMessage[];
}

function filterOf(filter: OrderFilter): SQL | undefined {
  return and(filter.userId ? eq(orders.userId, filter.userId) : undefined, filter.status ? eq(orders.status, filter.status) : undefined);
}

/**
 * placeOrder's one statement: the PENDING order (unless its idempotency key is
 * taken), its first history row and its `orders` outbox row, and a NOTIFY
 * that wakes the outbox relay when it commits (a hint: the relay polls anyway).
 */
const PLACE = statement<typeof orders, NewOrder & { id: string } & OutboxValues>(
  orders,
  sql`with placed as (
      insert into ${orders} (${names(orders.id, orders.userId, orders.productId, orders.quantity, orders.idempotencyKey)})
      values (${value('id')}, ${value('userId')}, ${value('productId')}, ${value('quantity')}, ${value('idempotencyKey')})
      on conflict (${names(orders.idempotencyKey)}) do nothing
      returning *),
    history as (
      insert into ${orderStatusChanges} (${names(orderStatusChanges.orderId, orderStatusChanges.status, orderStatusChanges.at)})
      select id, 'PENDING', created_at from placed),
    outbox as (
      insert into ${ordersOutbox} (${names(ordersOutbox.queue, ordersOutbox.name, ordersOutbox.jobId, ordersOutbox.payload)})
      select ${value('queue')}::text, ${value('name')}::text, ${value('jobId')}::text, ${value('payload')}::jsonb from placed)
    select ${columnsOf(orders, 'placed')}, pg_notify(${OUTBOX_CHANNEL}, 'orders') from placed`,
);

/**
 * A status change in one statement: the conditional UPDATE, the history row
 * and the outbox rows (`outbox`: OutboxMessage[] as JSON; a payload's
 * `timestamp` becomes the change's updated_at, as Date#toISOString writes it),
 * with a NOTIFY when there are any. Nothing when the order is not in `from`.
 */
const TRANSITION = statement<
  typeof orders,
  {
    id: string;
    from: readonly OrderStatus[];
    to: OrderStatus;
    failureReason: OrderFailureReason | null;
    attempt: number;
    reason: string | null;
    outbox: string;
  }
>(
  orders,
  sql`with changed as (
      update ${orders} set status = ${value('to')}, failure_reason = ${value('failureReason')}, updated_at = now(), attempts = attempts + ${value('attempt')}
      where id = ${value('id')} and status = any(${value('from')})
      returning *),
    history as (
      insert into ${orderStatusChanges} (${names(orderStatusChanges.orderId, orderStatusChanges.status, orderStatusChanges.reason, orderStatusChanges.at)})
      select id, status, ${value('reason')}::text, updated_at from changed),
    outbox as (
      insert into ${ordersOutbox} (${names(ordersOutbox.queue, ordersOutbox.name, ordersOutbox.jobId, ordersOutbox.payload)})
      select m.queue, m.name, m."jobId", case when m.payload ? 'timestamp'
          then jsonb_set(m.payload, '{timestamp}', to_jsonb(to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
          else m.payload end
      from changed c cross join jsonb_to_recordset(${value('outbox')}::jsonb) as m(queue text, name text, "jobId" text, payload jsonb)
      returning 1)
    select ${columnsOf(orders, 'changed')}, (select pg_notify(${OUTBOX_CHANNEL}, 'orders') where exists (select from outbox)) from changed`,
);

/** One outbox row as statement values (the payload as JSON text). */
type OutboxValues = { queue: string; name: string; jobId: string; payload: string };

/** The only code that touches the orders schema's tables. */
export class OrdersRepository {
  constructor(private readonly db: Database) {}

  /** One statement for any number of ids. */
  byIds(ids: readonly string[]): Promise<OrderRow[]> {
    return this.db
      .select()
      .from(orders)
      .where(inArray(orders.id, [...ids]));
  }

  /** `limit` orders after the cursor, newest first (createdAt, then id, descending). */
  page(filter: OrderFilter, limit: number, after: readonly [Date, string] | null): Promise<OrderRow[]> {
    return pageAfter(this.db, orders, { ordering: NEWEST_FIRST, after, limit, where: filterOf(filter) });
  }

  async count(filter: OrderFilter): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(orders).where(filterOf(filter));
    return row?.n ?? 0;
  }

  /** Orders per status, every status listed (zeros included), in enum order: one statement. */
  async countByStatus(): Promise<{ status: OrderStatus; count: number }[]> {
    const rows = await this.db.execute<{ status: OrderStatus; count: number }>(sql`
      select s.status::text as status, count(o.id)::int as count
      from unnest(enum_range(null::orders.order_status)) as s(status)
      left join ${orders} o on o.status = s.status
      group by s.status
      order by s.status`);
    return [...rows];
  }

  /** The history of each order, oldest first, in one statement. */
  historyOf(orderIds: readonly string[]): Promise<StatusChangeRow[]> {
    return this.db
      .select()
      .from(orderStatusChanges)
      .where(inArray(orderStatusChanges.orderId, [...orderIds]))
      .orderBy(asc(orderStatusChanges.orderId), asc(orderStatusChanges.id));
  }

  /** The newest `first` orders of each user (optionally in one status), newest first, in one statement. */
  newestOfUsers(userIds: readonly string[], status: OrderStatus | null, first: number): Promise<OrderRow[]> {
    const where = status ? eq(orders.status, status) : undefined;
    return firstPerParent(this.db, orders, { parent: orders.userId, parentIds: userIds, ordering: NEWEST_FIRST, first, where });
  }

  /**
   * Inserts a PENDING order, its first history row and its `orders` outbox row
   * in one statement (PLACE). With an idempotency key already taken, inserts nothing
   * and returns the existing order (`created: false`); simultaneous requests
   * with one key wait on the unique index, so exactly one creates the order.
   */
  async place(order: NewOrder, ids: { requestId: string; correlationId: string }): Promise<{ order: OrderRow; created: boolean }> {
    const id = randomUUID();
    const job = processOrder.message({ orderId: id, requestId: ids.requestId, correlationId: ids.correlationId, traceparent: currentTraceparent() });
    const [inserted] = await PLACE(this.db, { id, ...order, queue: job.queue, name: job.name, jobId: job.jobId, payload: JSON.stringify(job.payload) });
    if (inserted) return { order: inserted, created: true };
    // Read committed: this statement sees the order that won the key.
    const [existing] = await this.db.select().from(orders).where(eq(orders.idempotencyKey, order.idempotencyKey!));
    if (!existing) throw new Error(`idempotency key ${order.idempotencyKey} conflicted but no order holds it`);
    return { order: existing, created: false };
  }

  /**
   * Moves the order to `to` only while it is in one of `from` (a conditional
   * UPDATE, so it cannot race another writer), with its history row and any
   * outbox rows, in one statement (TRANSITION). Undefined when the order is
   * missing or in another status.
   */
  async transition(id: string, change: Transition): Promise<OrderRow | undefined> {
    const [order] = await TRANSITION(this.db, {
      id,
      from: change.from,
      to: change.to,
      failureReason: change.failureReason ?? null,
      attempt: change.countAttempt ? 1 : 0,
      reason: change.reason ?? null,
      outbox: JSON.stringify(change.outbox ?? []),
    });
    return order;
  }

  /**
   * Orders still PENDING or PROCESSING with no change for `olderThanMs`, by id,
   * `limit` of them after the id `after` (the recovery sweep pages through them all).
   */
  stale(olderThanMs: number, limit: number, after?: string): Promise<OrderRow[]> {
    const where = and(inArray(orders.status, ['PENDING', 'PROCESSING']), olderThan(orders.updatedAt, olderThanMs));
    return pageAfter(this.db, orders, { ordering: byKey(orders.id), after: after === undefined ? null : [after], limit, where });
  }

  /** Counts a processing attempt of an order still in `status` (a retry: no status change, no history row). */
  async countAttempt(id: string, status: OrderStatus): Promise<OrderRow | undefined> {
    const [order] = await this.db
      .update(orders)
      .set({ attempts: sql`${orders.attempts} + 1`, updatedAt: sql`now()` })
      .where(and(eq(orders.id, id), eq(orders.status, status)))
      .returning();
    return order;
  }

  /** Takes back an attempt counted on an order that was never made (the inventory breaker refused the call). */
  async uncountAttempt(id: string): Promise<void> {
    await this.db
      .update(orders)
      .set({ attempts: sql`greatest(${orders.attempts} - 1, 0)` })
      .where(and(eq(orders.id, id), eq(orders.status, 'PROCESSING')));
  }
}
