const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` can be a row id; lookups by anything else return null without a query. */
export function isUuid(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}

const SKU = /^[A-Za-z0-9_-]{1,64}$/;

/** True when `id` is a well-formed product SKU: 1..64 of A-Z a-z 0-9 _ -. */
export function isSku(id: unknown): id is string {
  return typeof id === 'string' && SKU.test(id);
}
