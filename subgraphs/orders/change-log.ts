import { and, asc, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../common/db.ts';
import { InvalidInputError } from '../../common/errors.ts';
import { orderStatusChanges, orders } from './db.ts';
import type { OrderRow, StatusChangeRow } from './repository.ts';

/**
 * The order status change log, read in commit order (docs/api/subscriptions.md).
 *
 * A bigserial id is not commit order: a transaction that drew id N can commit
 * after one that drew N+1, and a reader that moved past N+1 would never see N.
 * So each change carries `position`, its transaction's id (xid8, raised per
 * order by a trigger, drizzle/0005), and readers take only rows below a
 * horizon: the oldest transaction id still running in this database (or, when
 * none is, the next one). Every transaction that can still add a change has an
 * id at or above it, so the log below it no longer changes, and a reader that
 * moves along (position, id) below it skips nothing.
 *
 * Only this database's transactions count (pg_stat_activity), not the whole
 * cluster's (pg_snapshot_xmin): another database's long transaction, a DROP
 * DATABASE of several seconds, must not hold subscriptions back. The horizon
 * is read one statement before the rows, so a transaction that finishes in
 * between is visible to the second.
 */

/** A place in the change log: after the change with this position and id. */
export interface LogCursor {
  /** The change's position (xid8). */
  position: bigint;
  id: number;
}

/** The start of the log: before every change. */
export const LOG_START: LogCursor = { position: 0n, id: 0 };

/** -1, 0 or 1 as `a` is before, at or after `b`. */
export function compareCursors(a: LogCursor, b: LogCursor): number {
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

/** The cursor of a change row. */
export function cursorOf(change: Pick<StatusChangeRow, 'position' | 'id'>): LogCursor {
  return { position: BigInt(change.position), id: change.id };
}

const CURSOR_TEXT = /^c1:(\d{1,20}):(\d{1,18})$/;

/** A cursor as the opaque string clients hold (base64url of `c1:<position>:<id>`). */
export function encodeCursor(cursor: LogCursor): string {
  return Buffer.from(`c1:${cursor.position}:${cursor.id}`).toString('base64url');
}

/** The cursor a client sent; BAD_USER_INPUT on `field` when it is not one this log made. */
export function decodeCursor(value: string, field: string): LogCursor {
  const match = /^[A-Za-z0-9_-]{1,64}$/.test(value) ? CURSOR_TEXT.exec(Buffer.from(value, 'base64url').toString('latin1')) : null;
  if (!match) throw new InvalidInputError(field, `${field} is not a cursor: pass the cursor of an OrderUpdate`);
  const position = BigInt(match[1]!);
  const id = Number(match[2]!);
  if (position >= 2n ** 64n || !Number.isSafeInteger(id) || id < 1)
    throw new InvalidInputError(field, `${field} is not a cursor: pass the cursor of an OrderUpdate`);
  return { position, id };
}

/** A change and its order, as the log reads them together. */
export interface LoggedChange {
  cursor: LogCursor;
  change: StatusChangeRow;
  /** The order as it was when the change was read. */
  order: OrderRow;
}

/** Which orders' changes a reader wants. */
export interface ChangeFilter {
  orderId?: string;
  userId?: string;
}

/** A page of the log read up to the horizon. */
export interface HorizonPage {
  changes: LoggedChange[];
  /** Committed changes after the last one returned are held back until older transactions finish: read again soon. */
  heldBack: boolean;
}

const after = (cursor: LogCursor): SQL => sql`(${orderStatusChanges.position}, ${orderStatusChanges.id}) > (${cursor.position.toString()}::xid8, ${cursor.id})`;
const upTo = (cursor: LogCursor): SQL => sql`(${orderStatusChanges.position}, ${orderStatusChanges.id}) <= (${cursor.position.toString()}::xid8, ${cursor.id})`;
/** The horizon, read by itself (see above): running transactions of this database, or else the next transaction id. */
const HORIZON = sql`select coalesce(
    (select min(x) from pg_snapshot_xip(pg_current_snapshot()) x
      where x::xid in (select backend_xid from pg_stat_activity where datname = current_database() and backend_xid is not null)),
    pg_snapshot_xmax(pg_current_snapshot()))::text as horizon`;
const below = (horizon: bigint): SQL => sql`${orderStatusChanges.position} < ${horizon.toString()}::xid8`;

function filterOf(filter: ChangeFilter): SQL | undefined {
  return and(filter.orderId ? eq(orderStatusChanges.orderId, filter.orderId) : undefined, filter.userId ? eq(orders.userId, filter.userId) : undefined);
}

/** The reads of the change log. */
export class ChangeLog {
  constructor(private readonly db: Database) {}

  /** The horizon now: the log below it is final. */
  async horizon(): Promise<bigint> {
    const [row] = await this.db.execute<{ horizon: string }>(HORIZON);
    return BigInt(row!.horizon);
  }

  /** The last change below the horizon: where a reader that starts now begins (LOG_START when there is none). */
  async head(): Promise<LogCursor> {
    const horizon = await this.horizon();
    const [row] = await this.db
      .select({ position: orderStatusChanges.position, id: orderStatusChanges.id })
      .from(orderStatusChanges)
      .where(below(horizon))
      .orderBy(desc(orderStatusChanges.position), desc(orderStatusChanges.id))
      .limit(1);
    return row ? cursorOf(row) : LOG_START;
  }

  /**
   * Up to `limit` changes after `cursor` below the horizon, in (position, id)
   * order: two statements, the horizon, then the changes (with their orders).
   * `heldBack` says committed changes wait above the horizon (behind a
   * transaction still running).
   */
  async readAfter(cursor: LogCursor, limit: number): Promise<HorizonPage> {
    const horizon = await this.horizon();
    const rows = await this.db
      .select({ change: orderStatusChanges, order: orders })
      .from(orderStatusChanges)
      .innerJoin(orders, eq(orders.id, orderStatusChanges.orderId))
      .where(after(cursor))
      .orderBy(asc(orderStatusChanges.position), asc(orderStatusChanges.id))
      .limit(limit);
    const changes: LoggedChange[] = [];
    // Rows past the horizon come last in this order: the page is the prefix below it.
    for (const row of rows) {
      if (BigInt(row.change.position) >= horizon) return { changes, heldBack: true };
      changes.push({ cursor: cursorOf(row.change), change: row.change, order: row.order });
    }
    return { changes, heldBack: false };
  }

  /** Up to `limit` changes of `filter` after `from` and at most `to` (a point every reader has passed: final), in order. */
  async replay(filter: ChangeFilter, from: LogCursor, to: LogCursor, limit: number): Promise<LoggedChange[]> {
    const rows = await this.db
      .select({ change: orderStatusChanges, order: orders })
      .from(orderStatusChanges)
      .innerJoin(orders, eq(orders.id, orderStatusChanges.orderId))
      .where(and(after(from), upTo(to), filterOf(filter)))
      .orderBy(asc(orderStatusChanges.position), asc(orderStatusChanges.id))
      .limit(limit);
    return rows.map((row) => ({ cursor: cursorOf(row.change), change: row.change, order: row.order }));
  }

  /** When the change a cursor names was made; undefined when no change has that cursor. */
  async madeAt(cursor: LogCursor): Promise<Date | undefined> {
    const [row] = await this.db
      .select({ at: orderStatusChanges.at, position: orderStatusChanges.position })
      .from(orderStatusChanges)
      .where(eq(orderStatusChanges.id, cursor.id));
    return row && BigInt(row.position) === cursor.position ? row.at : undefined;
  }

  /**
   * An order as it is now and the cursor of its last change, read together
   * (one statement, one snapshot); undefined when there is no such order. An
   * order's changes are made one at a time under its row lock, so its last
   * change by id is the last one committed.
   */
  async snapshot(orderId: string): Promise<{ order: OrderRow; last: LogCursor } | undefined> {
    const last = this.db
      .select({ position: orderStatusChanges.position, id: orderStatusChanges.id })
      .from(orderStatusChanges)
      .where(eq(orderStatusChanges.orderId, orders.id))
      .orderBy(desc(orderStatusChanges.id))
      .limit(1)
      .as('last');
    const [row] = await this.db
      .select({ order: orders, position: last.position, id: last.id })
      .from(orders)
      .leftJoinLateral(last, sql`true`)
      .where(eq(orders.id, orderId));
    if (!row) return undefined;
    return { order: row.order, last: row.position === null || row.id === null ? LOG_START : { position: BigInt(row.position), id: row.id } };
  }
}
