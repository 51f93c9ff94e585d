import { InvalidInputError } from '../../common/errors.ts';

export const MAX_QUANTITY = 1000;
export const MAX_IDEMPOTENCY_KEY = 200;

/** An order quantity of 1..1000. */
export function validQuantity(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_QUANTITY)
    throw new InvalidInputError(field, `${field} must be between 1 and ${MAX_QUANTITY}, got ${value}`);
  return value;
}

/** An idempotency key of 1..200 characters, kept exactly as given; null when absent. */
export function validIdempotencyKey(value: string | null | undefined, field: string): string | null {
  if (value === null || value === undefined) return null;
  const length = [...value].length;
  if (length < 1 || length > MAX_IDEMPOTENCY_KEY) throw new InvalidInputError(field, `${field} must be 1..${MAX_IDEMPOTENCY_KEY} characters`);
  // PostgreSQL text cannot hold NUL.
  if (value.includes('\0')) throw new InvalidInputError(field, `${field} must not contain NUL characters`);
  return value;
}
