import type DataLoader from 'dataloader';

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
