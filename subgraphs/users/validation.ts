import { z } from 'zod';
import { InvalidInputError } from '../../common/errors.ts';

const email = z.email();

/** A name of 1..100 characters after trimming. */
export function validName(value: string, field: string): string {
  const name = value.trim();
  if (name.length < 1 || name.length > 100) throw new InvalidInputError(field, `${field} must be 1..100 characters after trimming`);
  return name;
}

/** A syntactically valid address of at most 254 characters. */
export function validEmail(value: string, field: string): string {
  const address = value.trim();
  if (address.length > 254 || !email.safeParse(address).success) throw new InvalidInputError(field, `${field} is not a valid email address`);
  return address;
}
