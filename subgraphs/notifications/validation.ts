import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { InvalidInputError, UnauthenticatedError } from '../../common/errors.ts';
import type { IngestEventInput } from './generated/resolvers.ts';
import { eventId as eventIdRule, recipientId } from '../shared/notification-events.ts';
import type { SourceEvent } from './repository.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Throws UNAUTHENTICATED unless `given` is the ingest key; constant time over equal-length digests. */
export function checkApiKey(given: string | undefined, expected: string): void {
  if (given === undefined || !timingSafeEqual(digest(given), digest(expected))) {
    throw new UnauthenticatedError('ingestEvent requires the header X-API-Key with the ingest API key');
  }
}

/** The eventId given (validated), or a fresh one. */
export function validEventId(value: string | null | undefined, field: string): string {
  if (value === null || value === undefined) return randomUUID();
  const parsed = eventIdRule.safeParse(value);
  if (!parsed.success) throw new InvalidInputError(field, `${field} ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

/** A user id in an event payload: a non-empty string (a whole number is taken as its decimal string). */
export function validUserId(value: unknown, field: string): string {
  const parsed = recipientId.safeParse(value);
  if (!parsed.success) throw new InvalidInputError(field, `${field} ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

const MAX_PAYLOAD_DEPTH = 32;

/**
 * Throws BAD_USER_INPUT on `field` when a key or string inside a JSON value
 * holds a NUL character (PostgreSQL cannot store it) or the value nests deeper
 * than MAX_PAYLOAD_DEPTH (no producer needs that; it would only exhaust the stack).
 */
function checkJson(value: unknown, field: string, depth = 0): void {
  if (depth > MAX_PAYLOAD_DEPTH) throw new InvalidInputError(field, `${field} nests deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  if (typeof value === 'string') {
    if (value.includes('\0')) throw new InvalidInputError(field, `${field} must not contain NUL characters`);
  } else if (Array.isArray(value)) {
    for (const inner of value) checkJson(inner, field, depth + 1);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      checkJson(key, field, depth + 1);
      checkJson(inner, field, depth + 1);
    }
  }
}

/** Validates ingestEvent's input into a source event. */
export function validIngestEvent(input: IngestEventInput): SourceEvent {
  const eventId = validEventId(input.eventId, 'input.eventId');
  const type = input.eventType.trim();
  if (type.length < 1 || type.length > 100 || type.includes('\0')) {
    throw new InvalidInputError('input.eventType', 'input.eventType must be 1..100 characters after trimming, without NUL');
  }
  const payload = input.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new InvalidInputError('input.payload', 'input.payload must be an object with at least { userId }');
  }
  checkJson(payload, 'input.payload');
  const userId = validUserId((payload as Record<string, unknown>).userId, 'input.payload.userId');
  return { eventId, type, userId, occurredAt: input.timestamp, payload: payload as Record<string, unknown> };
}
