import { z } from 'zod';
import { afterEach, defineJob, defineQueue, requestIdFields, UNTIL_IT_SUCCEEDS } from '../../common/jobs.ts';
import { announcedEvent } from '../shared/notification-events.ts';

/** Order processing: `process` and `release` jobs, retried after each ORDER_RETRY_DELAYS_MS delay. */
export const ordersQueue = defineQueue('orders', (config: { ORDER_RETRY_DELAYS_MS: readonly number[] }) => afterEach(config.ORDER_RETRY_DELAYS_MS));

/** Payload of both order jobs. */
export const orderJobPayload = z.object({
  orderId: z.string().min(1),
  /** With the traceparent of the request that placed the order, so the worker continues its trace. */
  ...requestIdFields,
});

export type OrderJobData = z.output<typeof orderJobPayload>;

/** Job id of an order's release job (BullMQ job ids must not contain ':'). */
export function releaseJobId(orderId: string): string {
  return `release-${orderId}`;
}

/** Reserve stock for a new order, then CONFIRMED or FAILED (job id = order id). */
export const processOrder = defineJob(ordersQueue, { name: 'process', payload: orderJobPayload, jobId: (job) => job.orderId });

/** Give back whatever stock an order may hold; retried until inventory answers (job id = releaseJobId(order id)). */
export const releaseOrder = defineJob(ordersQueue, {
  name: 'release',
  payload: orderJobPayload,
  jobId: (job) => releaseJobId(job.orderId),
  attempts: () => UNTIL_IT_SUCCEEDS,
});

/** What ORDER_CONFIRMED and ORDER_FAILED say about the order. */
const orderEventPayload = z.object({
  userId: z.string(),
  orderId: z.string(),
  productId: z.string(),
  quantity: z.number().int(),
  status: z.string(),
  failureReason: z.string().optional(),
});

/** Announced when an order becomes CONFIRMED, for the notifications capability. */
export const orderConfirmed = announcedEvent('ORDER_CONFIRMED', orderEventPayload);

/** Announced when an order becomes FAILED, for the notifications capability. */
export const orderFailed = announcedEvent('ORDER_FAILED', orderEventPayload);
