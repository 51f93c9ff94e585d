import { InvalidInputError } from './errors.ts';

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

/**
 * The one validator of ids that are UUIDs (users, orders …): lower-cased, as
 * PostgreSQL returns them, so that equal ids compare equal. Anything else is
 * BAD_USER_INPUT on `field`, e.g. "input.userId must be a user id (a UUID)".
 */
export function validUuid(value: string, field: string, what: string): string {
  if (!isUuid(value)) throw new InvalidInputError(field, `${field} must be ${what} (a UUID)`);
  return value.toLowerCase();
}

/** The one validator of product SKUs (isSku), kept exactly as given; anything else is BAD_USER_INPUT on `field`. */
export function validSku(value: string, field: string): string {
  if (!isSku(value)) throw new InvalidInputError(field, `${field} must be a product SKU: 1..64 characters from A-Z a-z 0-9 _ -`);
  return value;
}
