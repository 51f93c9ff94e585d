import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, pgSchema, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { instant, timestamps } from '../../common/columns.ts';

export const inventorySchema = pgSchema('inventory');

export const movementKind = inventorySchema.enum('stock_movement_kind', ['RESERVE', 'RELEASE', 'RESTOCK']);

export const products = inventorySchema.table(
  'products',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    priceCents: integer('price_cents').notNull(),
    stock: integer('stock').notNull(),
    reserved: integer('reserved').notNull().default(0),
    ...timestamps(),
  },
  (t) => [
    check('products_stock_nonnegative', sql`${t.stock} >= 0`),
    check('products_reserved_nonnegative', sql`${t.reserved} >= 0`),
    check('products_price_nonnegative', sql`${t.priceCents} >= 0`),
  ],
);

export const stockMovements = inventorySchema.table(
  'stock_movements',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    productId: text('product_id')
      .notNull()
      .references(() => products.id),
    kind: movementKind('kind').notNull(),
    quantity: integer('quantity').notNull(),
    orderId: uuid('order_id'),
    at: instant('at').notNull().defaultNow(),
  },
  (t) => [index('stock_movements_product_idx').on(t.productId, t.id)],
);

/**
 * One row per (order, kind): the first outcome of a reservation or release.
 * The primary key makes both idempotent whatever the retries.
 */
export const reservations = inventorySchema.table(
  'reservations',
  {
    orderId: uuid('order_id').notNull(),
    kind: text('kind', { enum: ['RESERVE', 'RELEASE'] }).notNull(),
    productId: text('product_id').notNull(),
    quantity: integer('quantity').notNull(),
    /** RESERVED, OUT_OF_STOCK, UNKNOWN_PRODUCT, RELEASED, NOTHING_TO_RELEASE, VOIDED (released before any reservation). */
    outcome: text('outcome').notNull(),
    at: instant('at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.kind] })],
);
