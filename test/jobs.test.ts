import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../scripts/settings.ts';
import { payloadOf } from '../common/queues.ts';
import { JOBS, QUEUE_NAMES } from '../subgraphs/index.ts';
import { deliverNotification, deliveryJobData, notificationEvent, notificationEventsQueue } from '../subgraphs/notifications/module.ts';
import { orderConfirmed, orderJobPayload, processOrder, releaseOrder } from '../subgraphs/orders/module.ts';
import { userSignup } from '../subgraphs/users/module.ts';

const config = parseConfig({ ORDER_RETRY_DELAYS_MS: '10,20,30', NOTIFY_RETRY_DELAYS_MS: '5,6' });
const kept = { removeOnComplete: { age: 24 * 3600, count: 10_000 }, removeOnFail: false };

describe('job declarations (each module jobs.ts)', () => {
  it('keep the retry settings of their queue and their job ids', () => {
    expect(processOrder.options(config)).toEqual({ ...kept, attempts: 4, backoff: { type: 'custom' } });
    expect(releaseOrder.options(config)).toEqual({ ...kept, attempts: 1_000_000, backoff: { type: 'custom' } });
    expect(deliverNotification.options(config)).toEqual({ ...kept, attempts: 3, backoff: { type: 'custom' } });
    expect(userSignup.options(config)).toEqual({ ...kept, attempts: 5, backoff: { type: 'exponential', delay: 1000 } });
    expect(processOrder.message({ orderId: 'o-1' })).toEqual({ queue: 'orders', name: 'process', jobId: 'o-1', payload: { orderId: 'o-1' } });
    expect(releaseOrder.message({ orderId: 'o-1' })).toMatchObject({ queue: 'orders', name: 'release', jobId: 'release-o-1' });
    expect(deliverNotification.message(deliveryJobData({ eventId: '42', type: 'password_reset', userId: null }))).toMatchObject({
      queue: 'notifications',
      name: 'password_reset',
      jobId: 'event-42',
    });
    const signup = userSignup.announce({ userId: 'u', name: 'n', email: 'e' }, new Date('2026-11-21T10:00:00.000Z'));
    expect(signup).toMatchObject({
      queue: 'notification-events',
      name: 'USER_SIGNUP',
      payload: { eventType: 'USER_SIGNUP', timestamp: '2026-11-21T10:00:00.000Z' },
    });
    expect(signup.jobId).toBe((signup.payload as { eventId: string }).eventId);
    expect(orderConfirmed.announce({ userId: 'u', orderId: 'o', productId: 'p', quantity: 1, status: 'CONFIRMED' }, new Date()).queue).toBe(
      notificationEventsQueue.name,
    );
  });

  it('are all listed by the modules, on the queues the workers consume', () => {
    expect(JOBS).toEqual(expect.arrayContaining([processOrder, releaseOrder, deliverNotification, userSignup, orderConfirmed]));
    expect([...QUEUE_NAMES].sort()).toEqual(['notification-events', 'notifications', 'orders']);
  });

  it('fail a payload that does not parse as UnrecoverableError naming the job and the field', () => {
    const bad = (schema: Parameters<typeof payloadOf>[0], name: string, data: unknown) => {
      try {
        payloadOf(schema, { name, id: 'job-1', queueName: 'q', data });
      } catch (error) {
        return error as Error;
      }
      throw new Error('expected the payload to be refused');
    };
    const order = bad(orderJobPayload, 'process', { requestId: 'r' });
    expect(order).toBeInstanceOf(UnrecoverableError);
    expect(order.message).toMatch(/^malformed process job job-1 on q: orderId: /);
    const event = bad(notificationEvent, 'USER_SIGNUP', { eventId: 'e-1', payload: { userId: '' } });
    expect(event).toBeInstanceOf(UnrecoverableError);
    expect(event.message).toContain('USER_SIGNUP');
    expect(event.message).toContain("payload.userId: is required: the recipient's user id");
    expect(payloadOf(orderJobPayload, { name: 'process', id: 'j', queueName: 'orders', data: { orderId: 'o-1' } })).toEqual({ orderId: 'o-1' });
  });

  it('carry a traceparent when one is given, and still read the rows and jobs written without one', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const envelope = { eventId: 'e-1', eventType: 'USER_SIGNUP', timestamp: '2026-11-21T10:00:00.000Z', payload: { userId: 'u-1' } };
    const read = (data: unknown) => payloadOf(notificationEvent, { name: 'USER_SIGNUP', id: 'e-1', queueName: notificationEventsQueue.name, data });
    expect(read({ ...envelope, traceparent }).traceparent).toBe(traceparent);
    // An outbox row from before traceparent was carried, or one whose producer wrote something else there: no trace to continue, the event still recorded.
    expect(read(envelope)).toMatchObject({ eventId: 'e-1', payload: { userId: 'u-1' } });
    expect(read(envelope).traceparent).toBeUndefined();
    expect(read({ ...envelope, traceparent: 42 }).traceparent).toBeUndefined();
    const delivery = (data: unknown) => payloadOf(deliverNotification.payload, { name: 'USER_SIGNUP', id: 'e-1', queueName: 'notifications', data });
    expect(delivery(deliveryJobData({ eventId: 'e-1', type: 'USER_SIGNUP', userId: 'u-1' }, { requestId: 'r', traceparent }))).toEqual({
      eventId: 'e-1',
      type: 'USER_SIGNUP',
      userId: 'u-1',
      requestId: 'r',
      traceparent,
    });
    expect(delivery({ eventId: 'e-1', type: 'USER_SIGNUP', userId: 'u-1' })).toEqual({ eventId: 'e-1', type: 'USER_SIGNUP', userId: 'u-1' });
    expect(payloadOf(orderJobPayload, { name: 'process', id: 'j', queueName: 'orders', data: { orderId: 'o-1', traceparent } })).toEqual({
      orderId: 'o-1',
      traceparent,
    });
    // Not tracing (no OTEL_EXPORTER_OTLP_ENDPOINT): nothing is stored.
    expect(userSignup.announce({ userId: 'u', name: 'n', email: 'e' }, new Date()).payload.traceparent).toBeUndefined();
  });
});
