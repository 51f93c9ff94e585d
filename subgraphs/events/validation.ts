import { InvalidInputError } from '../../common/errors.ts';

const MAX_NAME = 200;
const MAX_DESCRIPTION = 5000;

/** A name of 1..200 characters after trimming. */
export function validName(value: string, field: string): string {
  const name = value.trim();
  if (name.length < 1 || name.length > MAX_NAME) throw new InvalidInputError(field, `${field} must be 1..${MAX_NAME} characters after trimming`);
  return name;
}

/** Free text of at most 5000 characters; null when absent. */
export function validDescription(value: string | null | undefined, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (value.length > MAX_DESCRIPTION) throw new InvalidInputError(field, `${field} must be at most ${MAX_DESCRIPTION} characters`);
  return value;
}
