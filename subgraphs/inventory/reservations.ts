import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../common/db.ts';
import { products, reservations, stockMovements } from './db.ts';
import type { ReservationOutcome } from './generated/resolvers.ts';

/** The first outcome of an order's release; a repeat returns it unchanged. */
export type ReleaseOutcome = Extract<ReservationOutcome, 'RELEASED' | 'NOTHING_TO_RELEASE'>;
/** The first outcome of an order's reservation (every other ReservationOutcome); a repeat returns it unchanged. */
export type ReserveOutcome = Exclude<ReservationOutcome, ReleaseOutcome>;

export interface ReservationResult<O extends ReservationOutcome> {
  orderId: string;
  outcome: O;
  /** Empty for a release that found nothing reserved. */
  productId: string;
  quantity: number;
  /** False when this call repeated an earlier one and changed nothing. */
  applied: boolean;
  at: Date;
}

type Row = typeof reservations.$inferSelect;

function result<O extends ReservationOutcome>(row: Row, applied: boolean): ReservationResult<O> {
  return { orderId: row.orderId, outcome: row.outcome as O, productId: row.productId, quantity: row.quantity, applied, at: row.at };
}

/**
 * Stock reservation and release, each idempotent per (order id, kind): the
 * primary key of inventory.reservations admits one RESERVE and one RELEASE row
 * per order, and the first call's outcome is what every repeat returns. The
 * only code that touches inventory.reservations.
 */
export class ReservationsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Moves `quantity` units of `productId` from stock to reserved for the order,
   * in one transaction: claim the (order, RESERVE) row, then a conditional
   * UPDATE that never takes stock below 0. A concurrent repeat waits on the
   * primary key and then returns the first outcome; after a release it is VOIDED.
   */
  reserve(orderId: string, productId: string, quantity: number): Promise<ReservationResult<ReserveOutcome>> {
    return this.db.transaction(async (tx) => {
      const [claimed] = await tx
        .insert(reservations)
        .values({ orderId, kind: 'RESERVE', productId, quantity, outcome: 'RESERVED' })
        .onConflictDoNothing()
        .returning();
      if (!claimed) {
        const [first] = await tx.select().from(reservations).where(and(eq(reservations.orderId, orderId), eq(reservations.kind, 'RESERVE')));
        return result<ReserveOutcome>(first!, false);
      }
      // One statement takes the stock and records the movement, so the product row stays locked for just the COMMIT after it.
      const moved = await tx.execute(sql`
        with taken as (
          update ${products} set stock = stock - ${quantity}, reserved = reserved + ${quantity}, updated_at = now()
          where id = ${productId} and stock >= ${quantity}
          returning id)
        insert into ${stockMovements} (product_id, kind, quantity, order_id)
        select id, 'RESERVE'::inventory.stock_movement_kind, ${quantity}::int, ${orderId}::uuid from taken
        returning id`);
      if (moved.length > 0) return result<ReserveOutcome>(claimed, true);
      const [known] = await tx.select({ id: products.id }).from(products).where(eq(products.id, productId));
      const [refused] = await tx
        .update(reservations)
        .set({ outcome: known ? 'OUT_OF_STOCK' : 'UNKNOWN_PRODUCT' })
        .where(and(eq(reservations.orderId, orderId), eq(reservations.kind, 'RESERVE')))
        .returning();
      return result<ReserveOutcome>(refused!, true);
    });
  }

  /**
   * Gives back what the order reserved, in one transaction. When nothing was
   * reserved yet it leaves a VOIDED reservation behind (a tombstone), so a
   * reserve still in flight from an abandoned attempt can never reserve
   * afterwards; one in flight right now waits on the primary key and is then
   * released here.
   */
  release(orderId: string): Promise<ReservationResult<ReleaseOutcome>> {
    return this.db.transaction(async (tx) => {
      const [repeat] = await tx.select().from(reservations).where(and(eq(reservations.orderId, orderId), eq(reservations.kind, 'RELEASE')));
      if (repeat) return result<ReleaseOutcome>(repeat, false);
      await tx.insert(reservations).values({ orderId, kind: 'RESERVE', productId: '', quantity: 0, outcome: 'VOIDED' }).onConflictDoNothing();
      // A new statement, so it sees a reservation that committed while the insert above waited for it.
      const [reserve] = await tx.select().from(reservations).where(and(eq(reservations.orderId, orderId), eq(reservations.kind, 'RESERVE')));
      const held = reserve!.outcome === 'RESERVED';
      const [claimed] = await tx
        .insert(reservations)
        .values({
          orderId,
          kind: 'RELEASE',
          productId: held ? reserve!.productId : '',
          quantity: held ? reserve!.quantity : 0,
          outcome: held ? 'RELEASED' : 'NOTHING_TO_RELEASE',
        })
        .onConflictDoNothing()
        .returning();
      if (!claimed) {
        // A concurrent release committed first.
        const [first] = await tx.select().from(reservations).where(and(eq(reservations.orderId, orderId), eq(reservations.kind, 'RELEASE')));
        return result<ReleaseOutcome>(first!, false);
      }
      if (held) {
        // One statement, as in reserve: the product row stays locked for just the COMMIT after it.
        await tx.execute(sql`
          with given as (
            update ${products} set stock = stock + ${claimed.quantity}, reserved = reserved - ${claimed.quantity}, updated_at = now()
            where id = ${claimed.productId}
            returning id)
          insert into ${stockMovements} (product_id, kind, quantity, order_id)
          select id, 'RELEASE'::inventory.stock_movement_kind, ${claimed.quantity}::int, ${orderId}::uuid from given`);
      }
      return result<ReleaseOutcome>(claimed, true);
    });
  }
}
