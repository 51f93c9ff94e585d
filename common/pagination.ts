import { InvalidInputError } from './errors.ts';
import { isUuid } from './ids.ts';

export const MAX_PAGE = 100;

export type CursorPart = 'date' | 'uuid' | 'string';
type PartValue<P extends CursorPart> = P extends 'date' ? Date : string;
type Parts<T extends readonly CursorPart[]> = { [K in keyof T]: PartValue<T[K]> };

/** Validates `first` (1..100); `field` names the argument in the error. */
export function pageSize(first: number | null | undefined, fallback: number, field = 'first'): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE) {
    throw new InvalidInputError(field, `${field} must be between 1 and ${MAX_PAGE}, got ${size}`);
  }
  return size;
}

/** An opaque cursor: the sort key of the last row, base64url-encoded. */
export function encodeCursor(values: readonly (Date | string)[]): string {
  return Buffer.from(JSON.stringify(values.map((v) => (v instanceof Date ? v.toISOString() : v)))).toString('base64url');
}

/** Decodes a cursor made by encodeCursor with the same parts, or fails with BAD_USER_INPUT on `after`. */
export function decodeCursor<const T extends readonly CursorPart[]>(after: string | null | undefined, parts: T): Parts<T> | null {
  if (after === null || after === undefined) return null;
  const invalid = () => new InvalidInputError('after', 'after is not a cursor from pageInfo.endCursor');
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(raw) || raw.length !== parts.length) throw invalid();
  return parts.map((part, i) => {
    const value = raw[i];
    if (typeof value !== 'string') throw invalid();
    if (part === 'date') {
      const date = new Date(value);
      if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9999) throw invalid();
      return date;
    }
    if (part === 'uuid' && !isUuid(value)) throw invalid();
    return value;
  }) as Parts<T>;
}

export interface Connection<T> {
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  /** Resolved only when the client asks for it. */
  totalCount: () => Promise<number>;
}

/** Builds a connection from `limit + 1` fetched rows. */
export function toConnection<T>(rows: T[], limit: number, sortKey: (row: T) => readonly (Date | string)[], totalCount: () => Promise<number>): Connection<T> {
  const nodes = rows.slice(0, limit);
  const last = nodes.at(-1);
  return {
    nodes,
    pageInfo: { hasNextPage: rows.length > limit, endCursor: last ? encodeCursor(sortKey(last)) : null },
    totalCount,
  };
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface PageSource<T, P extends readonly CursorPart[]> {
  /** What a cursor holds: the parts of the sort key. */
  cursor: P;
  /** The sort key of a row, which its cursor encodes. */
  sortKey: (row: T) => Parts<P>;
  /** `limit` rows after the cursor in the sort order (`null`: from the start). */
  fetch: (limit: number, after: Parts<P> | null) => Promise<T[]>;
  /** How many rows there are in all; asked only when a client selects totalCount. */
  count: () => Promise<number>;
  /** The page size when `first` is absent. Default 20. */
  fallback?: number;
}

/**
 * A connection field's whole job: checks `first` and `after` (BAD_USER_INPUT),
 * fetches one row more than the page to learn whether another follows, and
 * builds the connection.
 */
export async function paginate<T, const P extends readonly CursorPart[]>(args: PageArgs, source: PageSource<T, P>): Promise<Connection<T>> {
  const limit = pageSize(args.first, source.fallback ?? 20);
  const after = decodeCursor(args.after, source.cursor);
  const rows = await source.fetch(limit + 1, after);
  return toConnection(rows, limit, source.sortKey, source.count);
}
