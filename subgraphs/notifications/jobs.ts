import { z } from 'zod';
import { afterEach, defineJob, defineQueue, isValidJobId, requestIdFields } from '../../common/jobs.ts';

/** Notification delivery, retried after each NOTIFY_RETRY_DELAYS_MS delay, then kept in the failed set. */
export const notificationsQueue = defineQueue('notifications', (config: { NOTIFY_RETRY_DELAYS_MS: readonly number[] }) =>
  afterEach(config.NOTIFY_RETRY_DELAYS_MS),
);

/** What a delivery job carries: the worker reads everything else from the notification row. */
export const deliveryPayload = z.object({
  eventId: z.string().min(1),
  type: z.string().min(1),
  userId: z.string().nullable(),
  ...requestIdFields,
});

export type DeliveryJobData = z.output<typeof deliveryPayload>;

/**
 * The delivery job id of an event: the eventId itself (validated to hold no
 * ':'). BullMQ refuses integer-looking custom ids, so those alone get a prefix.
 */
export function deliveryJobId(eventId: string): string {
  return isValidJobId(eventId) ? eventId : `event-${eventId}`;
}

/** The delivery job of a notification; named after its type (job id = deliveryJobId(eventId)). */
export const deliverNotification = defineJob(notificationsQueue, {
  name: (job) => job.type,
  payload: deliveryPayload,
  jobId: (job) => deliveryJobId(job.eventId),
});

/** A delivery job's payload for a notification, with the request ids and the trace (traceparent) to trace it by. */
export function deliveryJobData(
  row: { eventId: string; type: string; userId: string | null },
  ids: { requestId?: string; correlationId?: string; traceparent?: string } = {},
): DeliveryJobData {
  return {
    eventId: row.eventId,
    type: row.type,
    userId: row.userId,
    ...(ids.requestId ? { requestId: ids.requestId } : {}),
    ...(ids.correlationId ? { correlationId: ids.correlationId } : {}),
    ...(ids.traceparent ? { traceparent: ids.traceparent } : {}),
  };
}
