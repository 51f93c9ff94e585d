import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Config } from '../../common/config.ts';
import type { Database } from '../../common/db.ts';
import { DomainError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { QUEUES } from '../../common/queues.ts';
import { createRedis } from '../../common/redis.ts';
import { NotificationsRepository, type Recorded, type SourceEvent } from '../../subgraphs/notifications/repository.ts';
import { validEventId, validUserId } from '../../subgraphs/notifications/validation.ts';
import { DATABASE_UNAVAILABLE, PAUSABLE, QueuePause } from '../pause.ts';

/** A job on `notification-events`, as the users and orders outboxes write it. */
export interface NotificationEventJob {
  eventId: string;
  eventType: string;
  /** ISO-8601; when the event happened. */
  timestamp?: string;
  payload: { userId: string } & Record<string, unknown>;
  requestId?: string;
  correlationId?: string;
}

/** The source event a job announces; a malformed one is UnrecoverableError (no retry can fix it). */
export function sourceEventOf(job: Job<NotificationEventJob>): SourceEvent {
  const { data } = job;
  try {
    const payload: Record<string, unknown> = typeof data.payload === 'object' && data.payload !== null && !Array.isArray(data.payload) ? data.payload : {};
    const occurredAt = data.timestamp ? new Date(data.timestamp) : new Date(job.timestamp);
    return {
      eventId: validEventId(data.eventId ?? job.id, 'eventId'),
      type: String(data.eventType ?? job.name),
      userId: validUserId(payload.userId, 'payload.userId'),
      occurredAt: Number.isNaN(occurredAt.getTime()) ? new Date(job.timestamp) : occurredAt,
      payload,
      requestId: data.requestId,
      correlationId: data.correlationId,
    };
  } catch (error) {
    if (error instanceof DomainError) throw new UnrecoverableError(`malformed ${job.name} event: ${error.message}`);
    throw error;
  }
}

export interface EventsWorkerOptions {
  db: Database;
  config: Config;
  logger: Logger;
  /** Default 5. */
  concurrency?: number;
}

/**
 * Records the events other subgraphs announce (USER_SIGNUP, ORDER_CONFIRMED,
 * ORDER_FAILED) as notifications, exactly as ingestEvent does: the same
 * repository call, once per eventId, queueing the delivery through the
 * notifications outbox.
 */
export function createEventsWorker(options: EventsWorkerOptions) {
  const { config, logger } = options;
  const repo = new NotificationsRepository(options.db);
  const log = logger.child({ queue: QUEUES.notificationEvents });
  const connection = createRedis(config.REDIS_URL, { role: 'worker', logger, name: 'notification-events' });
  // While PostgreSQL is unreachable the queue waits instead of using up its 5 attempts.
  const pause = new QueuePause(QUEUES.notificationEvents, logger, [DATABASE_UNAVAILABLE]);
  const worker = new Worker<NotificationEventJob, Recorded>(
    QUEUES.notificationEvents,
    (job) =>
      pause.guardDatabase(async () => {
        const recorded = await repo.record(sourceEventOf(job));
        log.info({ eventId: recorded.eventId, type: job.name, created: recorded.created }, recorded.created ? 'notification recorded' : 'event already recorded');
        return recorded;
      }),
    { ...PAUSABLE, connection, prefix: config.QUEUE_PREFIX, concurrency: options.concurrency ?? 5 },
  );
  pause.attach(worker);
  worker.on('error', (error) => log.warn({ err: error }, 'notification-events worker error'));

  let closing: Promise<void> | undefined;
  return {
    worker,
    /** Waits for jobs in flight, then stops; safe to call twice. */
    close(): Promise<void> {
      closing ??= (async () => {
        await worker.close();
        pause.close();
        connection.disconnect();
      })();
      return closing;
    },
  };
}
