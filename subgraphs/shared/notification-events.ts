import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineJob, defineQueue, type JobDefinition, type OutboxMessage } from '../../common/jobs.ts';
import { currentTraceparent } from '../../common/tracing.ts';

/**
 * The contract between the subgraphs that announce events (users: USER_SIGNUP;
 * orders: ORDER_CONFIRMED, ORDER_FAILED) and the notifications capability that
 * records them: the `notification-events` queue and what its jobs carry. It is
 * not a subgraph: any subgraph may import it, and it imports only common/.
 */

/** An event id: safe in a URL, a header and a BullMQ job id (which must not contain ':'). */
export const EVENT_ID = /^[A-Za-z0-9._-]{1,200}$/;

export const eventId = z.string().regex(EVENT_ID, "must be 1..200 of A-Z a-z 0-9 . _ - (no ':')");

/**
 * The recipient of an event: a non-empty user id (a whole number is taken as
 * its decimal string), trimmed; a UUID is lower-cased, as PostgreSQL writes
 * users' ids, so it matches whatever case the producer used.
 */
export const recipientId = z.unknown().transform((value, ctx) => {
  const id = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof id !== 'string' || id.trim().length === 0 || id.length > 200 || id.includes('\0')) {
    ctx.addIssue({ code: 'custom', message: "is required: the recipient's user id, 1..200 characters" });
    return z.NEVER;
  }
  // zod's guid is common/ids.ts's UUID shape (8-4-4-4-12 hex), without its GraphQL errors.
  return z.guid().safeParse(id.trim()).success ? id.trim().toLowerCase() : id.trim();
});

/** Records an announced event: local work, retried a few times. */
export const notificationEventsQueue = defineQueue('notification-events', () => ({ attempts: 5, backoff: { type: 'exponential', delay: 1000 } }));

/**
 * Any job on notification-events, as the notifications worker reads it: an
 * eventId and a recipient it can record. The eventId defaults to the job id,
 * the type to the job name, the time to when the job was added (also when
 * `timestamp` is not a date).
 */
export const notificationEvent = z.object({
  eventId: eventId.optional(),
  eventType: z.coerce.string().optional(),
  /** ISO-8601 (or epoch milliseconds): when the event happened. */
  timestamp: z.union([z.string(), z.number()]).optional().catch(undefined),
  payload: z.looseObject({ userId: recipientId }),
  requestId: z.string().optional().catch(undefined),
  correlationId: z.string().optional().catch(undefined),
  /** W3C trace context of whatever announced the event, so recording and delivering it continue that trace; absent in rows written before it was carried. */
  traceparent: z.string().optional().catch(undefined),
});

export type NotificationEvent = z.output<typeof notificationEvent>;

/** One kind of announced event: its job on notification-events, named after its type, with its own payload. */
export interface AnnouncedEvent<P extends z.ZodType<{ userId: string }>> extends JobDefinition<z.ZodType<AnnouncedEnvelope<P>, AnnouncedEnvelope<P>>, unknown> {
  readonly eventType: string;
  /** The outbox row announcing the event that happened `at`, under a fresh eventId, in the trace of the active span (its traceparent, when tracing). */
  announce(payload: z.input<P>, at: Date): OutboxMessage;
}

type AnnouncedEnvelope<P extends z.ZodType> = { eventId: string; eventType: string; timestamp: string; payload: z.input<P>; traceparent?: string };

/** Declares an event a subgraph announces to the notifications capability. */
export function announcedEvent<P extends z.ZodType<{ userId: string }>>(eventType: string, payload: P): AnnouncedEvent<P> {
  const envelope = z.object({
    eventId,
    eventType: z.literal(eventType),
    timestamp: z.string(),
    payload,
    traceparent: z.string().optional(),
  }) as unknown as z.ZodType<AnnouncedEnvelope<P>, AnnouncedEnvelope<P>>;
  const job = defineJob(notificationEventsQueue, { name: eventType, payload: envelope, jobId: (event) => event.eventId });
  return {
    ...job,
    eventType,
    announce: (data, at) => job.message({ eventId: randomUUID(), eventType, timestamp: at.toISOString(), payload: data, traceparent: currentTraceparent() }),
  };
}
