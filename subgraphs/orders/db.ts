import { bigserial, index, integer, pgSchema, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
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
  },
  (t) => [index('order_status_changes_order_idx').on(t.orderId, t.id)],
);

export const ordersOutbox = outboxTable(ordersSchema);
