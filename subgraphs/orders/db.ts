import { sql } from 'drizzle-orm';
import { bigserial, customType, index, integer, pgSchema, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { instant, timestamps, uuidPrimaryKey } from '../../common/columns.ts';
import { outboxTable } from '../../common/outbox-table.ts';

export const ordersSchema = pgSchema('orders');

export const orderStatus = ordersSchema.enum('order_status', ['PENDING', 'PROCESSING', 'CONFIRMED', 'FAILED', 'CANCELLED']);
export const orderFailureReason = ordersSchema.enum('order_failure_reason', ['OUT_OF_STOCK', 'UNKNOWN_PRODUCT', 'INVENTORY_UNAVAILABLE']);

export const orders = ordersSchema.table(
  'orders',
  {
    id: uuidPrimaryKey(),
    /** A User of the users subgraph (no cross-schema foreign key). */
    userId: uuid('user_id').notNull(),
    /** A Product of the inventory subgraph. */
    productId: text('product_id').notNull(),
    quantity: integer('quantity').notNull(),
    status: orderStatus('status').notNull().default('PENDING'),
    failureReason: orderFailureReason('failure_reason'),
    attempts: integer('attempts').notNull().default(0),
    idempotencyKey: text('idempotency_key'),
    ...timestamps(),
  },
  (t) => [
    uniqueIndex('orders_idempotency_key').on(t.idempotencyKey),
    index('orders_created_idx').on(t.createdAt, t.id),
    index('orders_user_created_idx').on(t.userId, t.createdAt, t.id),
    index('orders_status_created_idx').on(t.status, t.createdAt, t.id),
  ],
);

/** PostgreSQL's 64-bit transaction id (xid8), read and written as its decimal text. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

/**
 * Every status change, in one log that subscriptions read in commit order
 * (docs/api/subscriptions.md). `position` is the writing transaction's id,
 * raised to the order's previous change's position by a trigger when a
 * transaction that began earlier commits its change later (drizzle/0005):
 * read only below the oldest running transaction's id, (position, id) is
 * final, and an order's changes sort as they were made.
 */
export const orderStatusChanges = ordersSchema.table(
  'order_status_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    status: orderStatus('status').notNull(),
    reason: text('reason'),
    at: instant('at').notNull().defaultNow(),
    position: xid8('position')
      .notNull()
      .default(sql`pg_current_xact_id()`),
  },
  (t) => [index('order_status_changes_order_idx').on(t.orderId, t.id), index('order_status_changes_position_idx').on(t.position, t.id)],
);

export const ordersOutbox = outboxTable(ordersSchema);
