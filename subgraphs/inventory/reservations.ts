import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../common/db.ts';
import { columnsOf, names, statement, value } from '../../common/statement.ts';
import { products, reservations, stockMovements } from './db.ts';

/** What reserveStock and releaseStock did: the schema's ReservationOutcome (server.ts checks they are the same). */
export type ReservationOutcome = 'RESERVED' | 'OUT_OF_STOCK' | 'UNKNOWN_PRODUCT' | 'VOIDED' | 'RELEASED' | 'NOTHING_TO_RELEASE';

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
 * A reservation in one statement. The product row is locked first (FOR
 * UPDATE reads its latest stock and holds it until the statement commits), so
 * the claim's outcome is what the stock allows and the UPDATE cannot fail
 * after the claim; the claim is the primary key's (ON CONFLICT DO NOTHING: a
 * repeat claims nothing and takes nothing); the stock moves, with its movement
 * row, only with a new RESERVED claim. No row when the claim was taken before.
 */
const RESERVE = statement<typeof reservations, { orderId: string; productId: string; quantity: number }>(
  reservations,
  sql`with product as (
      select ${sql.identifier(products.stock.name)} as stock from ${products} where id = ${value('productId')} for update),
    claimed as (
      insert into ${reservations} (${names(reservations.orderId, reservations.kind, reservations.productId, reservations.quantity, reservations.outcome)})
      select ${value('orderId')}::uuid, 'RESERVE', ${value('productId')}::text, ${value('quantity')}::int,
        case when (select stock from product) >= ${value('quantity')}::int then 'RESERVED'
          when exists (select from product) then 'OUT_OF_STOCK' else 'UNKNOWN_PRODUCT' end
      on conflict do nothing
      returning *),
    taken as (
      update ${products} set stock = stock - ${value('quantity')}::int, reserved = reserved + ${value('quantity')}::int, updated_at = now()
      where id = ${value('productId')} and exists (select from claimed where outcome = 'RESERVED')
      returning id),
    moved as (
      insert into ${stockMovements} (${names(stockMovements.productId, stockMovements.kind, stockMovements.quantity, stockMovements.orderId)})
      select id, 'RESERVE', ${value('quantity')}::int, ${value('orderId')}::uuid from taken)
    select ${columnsOf(reservations, 'claimed')} from claimed`,
);

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
   * in one statement (RESERVE): lock the product, claim the (order, RESERVE)
   * row with the outcome the locked stock allows, and take the stock only when
   * the claim is new. A repeat finds the claim taken (a concurrent one waits
   * on the primary key) and returns the first outcome; after a release it is VOIDED.
   */
  async reserve(orderId: string, productId: string, quantity: number): Promise<ReservationResult<ReserveOutcome>> {
    const [claimed] = await RESERVE(this.db, { orderId, productId, quantity });
    if (claimed) return result<ReserveOutcome>(claimed, true);
    const [first] = await this.db
      .select()
      .from(reservations)
      .where(and(eq(reservations.orderId, orderId), eq(reservations.kind, 'RESERVE')));
    return result<ReserveOutcome>(first!, false);
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
      const [repeat] = await tx
        .select()
        .from(reservations)
        .where(and(eq(reservations.orderId, orderId), eq(reservations.kind, 'RELEASE')));
      if (repeat) return result<ReleaseOutcome>(repeat, false);
      await tx.insert(reservations).values({ orderId, kind: 'RESERVE', productId: '', quantity: 0, outcome: 'VOIDED' }).onConflictDoNothing();
      // A new statement, so it sees a reservation that committed while the insert above waited for it.
      const [reserve] = await tx
        .select()
        .from(reservations)
        .where(and(eq(reservations.orderId, orderId), eq(reservations.kind, 'RESERVE')));
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
        const [first] = await tx
          .select()
          .from(reservations)
          .where(and(eq(reservations.orderId, orderId), eq(reservations.kind, 'RELEASE')));
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
