import { InvalidInputError } from '../../common/errors.ts';

export const MAX_RESTOCK = 1_000_000;

/** A product name of 1..200 characters after trimming. */
export function validProductName(value: string, field: string): string {
  const name = value.trim();
  if (name.length < 1 || name.length > 200) throw new InvalidInputError(field, `${field} must be 1..200 characters after trimming`);
  // PostgreSQL text cannot hold NUL.
  if (name.includes('\0')) throw new InvalidInputError(field, `${field} must not contain NUL characters`);
  return name;
}

/** A whole number of at least 0. */
export function validNonNegative(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0) throw new InvalidInputError(field, `${field} must be 0 or more, got ${value}`);
  return value;
}

/** A restock quantity of 1..1000000. */
export function validRestockQuantity(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_RESTOCK)
    throw new InvalidInputError(field, `${field} must be between 1 and ${MAX_RESTOCK}, got ${value}`);
  return value;
}
