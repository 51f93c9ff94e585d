import DataLoader from 'dataloader';
import { isUuid } from './ids.ts';

/** How a kind of id is checked and compared: invalid ids load null without a query. */
export interface IdKind {
  valid(id: string): boolean;
  /** The form rows carry, so a lookup finds them whatever the client's spelling. */
  normalize(id: string): string;
}

/** UUIDs: PostgreSQL returns them lower-case, so keys are compared lower-case. */
export const UUID_IDS: IdKind = { valid: isUuid, normalize: (id) => id.toLowerCase() };

/** Ids compared exactly as given (product SKUs, external producers' recipient ids). */
export const EXACT_IDS: IdKind = { valid: (id) => id.length > 0, normalize: (id) => id };

/**
 * A DataLoader of rows by id: every id asked for in one tick costs one
 * statement; an invalid or unknown id loads null.
 */
export function loaderById<R extends { id: string }>(fetch: (ids: string[]) => Promise<R[]>, kind: IdKind = UUID_IDS): DataLoader<string, R | null> {
  return new DataLoader(async (ids) => {
    const valid = [...new Set(ids.filter(kind.valid).map(kind.normalize))];
    const rows = valid.length > 0 ? await fetch(valid) : [];
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => (kind.valid(id) ? (byId.get(kind.normalize(id)) ?? null) : null));
  });
}

/**
 * One DataLoader per distinct set of field arguments, made on first use: a
 * per-parent list field such as `User.orders(status, first)` then costs one
 * statement per argument set in a request, whatever the number of parents.
 */
export function loadersByArguments<A, K, V>(create: (args: A) => DataLoader<K, V>, keyOf: (args: A) => string = (args) => JSON.stringify(args)) {
  const loaders = new Map<string, DataLoader<K, V>>();
  return (args: A): DataLoader<K, V> => {
    const key = keyOf(args);
    let loader = loaders.get(key);
    if (!loader) {
      loader = create(args);
      loaders.set(key, loader);
    }
    return loader;
  };
}

/** Rows grouped under each key, in the order asked for (an empty list for a key with none). */
export function groupByKey<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): R[][] {
  const groups = new Map<K, R[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return keys.map((key) => groups.get(key) ?? []);
}

/**
 * A DataLoader of each parent's rows (User.events, User.orders …): one
 * statement for every parent asked for in one tick; an invalid id loads [].
 */
export function loaderOfLists<R>(fetch: (parentIds: string[]) => Promise<R[]>, parentOf: (row: R) => string, kind: IdKind = UUID_IDS): DataLoader<string, R[]> {
  return new DataLoader(async (ids) => {
    const valid = [...new Set(ids.filter(kind.valid).map(kind.normalize))];
    const rows = valid.length > 0 ? await fetch(valid) : [];
    return groupByKey(
      ids.map((id) => (kind.valid(id) ? kind.normalize(id) : '')),
      rows,
      parentOf,
    );
  });
}
