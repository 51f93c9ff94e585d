import { Worker, type Job, type Queue } from 'bullmq';
import type { WorkersConfig as Config } from '../settings.ts';
import type { Database } from '../../common/db.ts';
import type { Logger } from '../../common/logger.ts';
import { addJob, payloadOf } from '../../common/queues.ts';
import { createRedis } from '../../common/redis.ts';
import { currentTraceparent, withJobTrace } from '../../common/tracing.ts';
import {
  deliverNotification,
  deliveryJobData,
  notificationEvent,
  notificationEventsQueue,
  notificationsRepository,
  type NotificationEvent,
  type NotificationStatus,
  type Recorded,
  type SourceEvent,
} from '../../subgraphs/notifications/module.ts';
import { closePausable, DATABASE_UNAVAILABLE, PAUSABLE, QueuePause } from '../pause.ts';

/** A job on `notification-events`, as the users and orders outboxes write it (subgraphs/shared/notification-events.ts). */
export type NotificationEventJob = NotificationEvent;

/** The source event a job announces; a malformed one is UnrecoverableError naming the field (no retry can fix it). */
export function sourceEventOf(job: Job<NotificationEventJob>): SourceEvent {
  // A producer may leave the event's id and type to the job's own.
  const given: Partial<Record<string, unknown>> = typeof job.data === 'object' && job.data !== null ? job.data : {};
  const data = payloadOf(notificationEvent, {
    name: job.name,
    id: job.id,
    queueName: job.queueName,
    data: { ...given, eventId: given.eventId ?? job.id, eventType: given.eventType ?? job.name },
  });
  const occurredAt = data.timestamp ? new Date(data.timestamp) : new Date(job.timestamp);
  return {
    eventId: data.eventId!,
    type: String(data.eventType ?? job.name),
    userId: data.payload.userId,
    occurredAt: Number.isNaN(occurredAt.getTime()) ? new Date(job.timestamp) : occurredAt,
    payload: data.payload,
    requestId: data.requestId,
    correlationId: data.correlationId,
    traceparent: data.traceparent,
  };
}

/** A notification in these states still waits on its delivery job; SENT and FAILED ones have had theirs (FAILED waits for retryNotification). */
const AWAITING_DELIVERY: ReadonlySet<NotificationStatus> = new Set(['QUEUED', 'RETRYING']);

export interface EventsWorkerOptions {
  db: Database;
  config: Config;
  logger: Logger;
  /** The producer side of the `notifications` queue (a QueueSet's), where each recorded event's delivery job is added. */
  deliveries: Queue;
  /** Default 5. */
  concurrency?: number;
}

/**
 * Records the events other subgraphs announce (USER_SIGNUP, ORDER_CONFIRMED,
 * ORDER_FAILED) as notifications, once per eventId, then adds the delivery
 * job itself: the job ingestEvent's outbox row would publish (same name,
 * payload, options, job id = eventId), with no notifications outbox row,
 * relay pass or NOTIFY in between. The job is added after the notification
 * committed, and also when the event was already recorded and its
 * notification still waits on delivery (QUEUED, RETRYING): a worker that died
 * between the commit and the add has its events job run again by BullMQ
 * (stalled), which finds the row and adds the job then; the same job id makes
 * a second add a no-op, so there is never a second delivery job. The events
 * job completes only once the add succeeded; a failed add fails the attempt
 * (retried). Should its attempts run out, the notification stays QUEUED with
 * no job and the delivery recovery sweep queues it after NOTIFY_RECOVERY_MS.
 */
export async function createEventsWorker(options: EventsWorkerOptions) {
  const { config, logger } = options;
  const repo = await notificationsRepository(options.db);
  const log = logger.child({ queue: notificationEventsQueue.name });
  const connection = createRedis(config.REDIS_URL, { role: 'worker', logger, name: 'notification-events' });
  // While PostgreSQL is unreachable the queue waits instead of using up its 5 attempts.
  const pause = new QueuePause(notificationEventsQueue.name, logger, [DATABASE_UNAVAILABLE]);
  const worker = new Worker<NotificationEventJob, Recorded>(
    notificationEventsQueue.name,
    // A span in the trace of whatever announced the event (createUser, the order worker); the delivery continues it.
    (job) =>
      withJobTrace(job, { 'junction.event_id': String(job.data?.eventId ?? job.id) }, () =>
        pause.guardDatabase(async () => {
          const given = sourceEventOf(job);
          const event = { ...given, traceparent: currentTraceparent() ?? given.traceparent };
          const recorded = await repo.recordWithoutOutbox(event);
          log.info(
            { eventId: recorded.eventId, type: job.name, created: recorded.created },
            recorded.created ? 'notification recorded' : 'event already recorded',
          );
          if (AWAITING_DELIVERY.has(recorded.status)) await addJob(options.deliveries, deliverNotification, deliveryJobData(event, event), config);
          return recorded;
        }),
      ),
    { ...PAUSABLE, connection, prefix: config.QUEUE_PREFIX, concurrency: options.concurrency ?? 5 },
  );
  pause.attach(worker);
  worker.on('error', (error) => log.warn({ err: error }, 'notification-events worker error'));

  return {
    worker,
    /** Waits for jobs in flight, then stops; safe to call twice. */
    close: closePausable(worker, pause, connection),
  };
}
