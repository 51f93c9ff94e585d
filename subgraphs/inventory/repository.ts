import { count, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../../common/db.ts';
import { firstPerParent, pageAfter, type Ordering } from '../../common/sql.ts';
import { products, stockMovements } from './db.ts';

export type ProductRow = typeof products.$inferSelect;
export type MovementRow = typeof stockMovements.$inferSelect;

/** Products' order: id in byte order (collate "C"), the same whatever the database's locale. */
const BY_ID_BYTES: Ordering = { keys: [sql`${products.id} collate "C"`], direction: 'asc' };
/** A product's movements, newest first. */
const NEWEST_FIRST: Ordering = { keys: [stockMovements.id], direction: 'desc' };

/** Thrown by restock when the new stock would not fit in a PostgreSQL integer. */
export class StockOverflowError extends Error {
  override name = 'StockOverflowError';
}

function pgCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string } })?.cause ?? (error as { code?: string });
  return cause?.code;
}

/** The only code that touches the inventory schema's products and stock_movements tables. */
export class InventoryRepository {
  constructor(private readonly db: Database) {}

  /** One statement for any number of SKUs. */
  byIds(ids: readonly string[]): Promise<ProductRow[]> {
    return this.db
      .select()
      .from(products)
      .where(inArray(products.id, [...ids]));
  }

  /**
   * `limit` products after the cursor, ordered by id in byte order (collate "C"),
   * so the order is the same whatever the database's locale.
   */
  page(limit: number, after: string | null): Promise<ProductRow[]> {
    return pageAfter(this.db, products, { ordering: BY_ID_BYTES, after: after === null ? null : [after], limit });
  }

  async count(): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(products);
    return row?.n ?? 0;
  }

  /**
   * The newest `first` movements of each product, newest first, in one
   * statement (row_number() over each product's movements).
   */
  movementsOf(productIds: readonly string[], first: number): Promise<MovementRow[]> {
    return firstPerParent(this.db, stockMovements, { parent: stockMovements.productId, parentIds: productIds, ordering: NEWEST_FIRST, first });
  }

  /**
   * Inserts the product, and a RESTOCK movement of its initial stock when above
   * 0, in one transaction. Undefined when a product with this id exists.
   */
  create(input: { id: string; name: string; priceCents: number; stock: number }): Promise<ProductRow | undefined> {
    return this.db.transaction(async (tx) => {
      const [product] = await tx.insert(products).values(input).onConflictDoNothing({ target: products.id }).returning();
      if (product && product.stock > 0) {
        await tx.insert(stockMovements).values({ productId: product.id, kind: 'RESTOCK', quantity: product.stock });
      }
      return product;
    });
  }

  /** Adds `quantity` to the free stock and records a RESTOCK movement, in one transaction. Undefined for an unknown id. */
  async restock(id: string, quantity: number): Promise<ProductRow | undefined> {
    try {
      return await this.db.transaction(async (tx) => {
        const [product] = await tx
          .update(products)
          .set({ stock: sql`${products.stock} + ${quantity}`, updatedAt: sql`now()` })
          .where(eq(products.id, id))
          .returning();
        if (product) await tx.insert(stockMovements).values({ productId: id, kind: 'RESTOCK', quantity });
        return product;
      });
    } catch (error) {
      // 22003 numeric_value_out_of_range: stock would pass 2^31 - 1.
      if (pgCode(error) === '22003') throw new StockOverflowError(`restocking ${id} by ${quantity} exceeds the largest stock`);
      throw error;
    }
  }
}
