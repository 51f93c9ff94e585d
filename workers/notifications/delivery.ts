import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { isOpenBreakerError } from '../../common/breaker.ts';
import type { WorkersConfig as Config } from '../settings.ts';
import type { Database } from '../../common/db.ts';
import type { Logger } from '../../common/logger.ts';
import { payloadOf, workerSettings } from '../../common/queues.ts';
import { createRedis } from '../../common/redis.ts';
import { withJobTrace } from '../../common/tracing.ts';
import { deliveryPayload, notificationsQueue, notificationsRepository, type DeliveryJobData } from '../../subgraphs/notifications/module.ts';
import { breakerReason, DATABASE_UNAVAILABLE, closePausable, failedWithOutage, PAUSABLE, QueuePause } from '../pause.ts';
import { deliveries } from './metrics.ts';
import { NotifyProvider } from './provider.ts';

export interface DeliveryWorkerOptions {
  db: Database;
  config: Config;
  logger: Logger;
  /** Deliveries in flight at once. Default 5. */
  concurrency?: number;
  /** BullMQ lock of an active job: a crashed worker's job runs again this long after it stopped renewing. Default WORKER_LOCK_MS. */
  lockDurationMs?: number;
  /** How often stalled (crashed-worker) jobs are looked for. Default: lockDurationMs. */
  stalledIntervalMs?: number;
  /** Timeout of one POST /messages. Default 10000 ms. */
  sendTimeoutMs?: number;
  /** Times a job may stall (its worker died) before BullMQ fails it for good. Default 3. */
  maxStalledCount?: number;
}

export interface DeliveryOutcome {
  eventId: string;
  /** `already-sent`: the notification was SENT before; nothing was sent again. */
  result: 'sent' | 'already-sent';
}

/**
 * Delivers notifications: one job per eventId on the `notifications` queue.
 * Each attempt is counted on the row before the call; the row becomes SENT
 * only after the provider accepted, RETRYING while retries remain (after each
 * delay of NOTIFY_RETRY_DELAYS_MS), and FAILED when they are used up or the
 * provider refused the message, the job then staying in BullMQ's failed set
 * until retryNotification.
 *
 * While the provider's breaker is open (or half-open with its trial call in
 * flight) no attempt is made or counted: the queue is paused until the breaker
 * half-opens (workers/pause.ts), and the same while PostgreSQL is unreachable.
 * A send that fails with the outage (the half-open trial finding the provider
 * still down, or a send in flight when the outage opened the breaker) is no
 * attempt either: the job waits, delayed, for the next half-open. So however
 * long the provider is down, only sends it failed while it served others use
 * up NOTIFY_RETRY_DELAYS_MS. A replayed notification (retryNotification)
 * waits out an open breaker instead of failing again at once.
 *
 * A send the provider accepted is the attempt's end, whatever happens to the
 * write after it: when SENT cannot be written (PostgreSQL stopped), the job
 * records on itself (its progress, in Redis) that the provider accepted, and
 * waits as for any database outage, no attempt counted; its next run only
 * writes SENT, with no send and no attempt (invariants 4 and 8).
 */
export async function createDeliveryWorker(options: DeliveryWorkerOptions) {
  const { config, logger } = options;
  const repo = await notificationsRepository(options.db);
  const provider = new NotifyProvider({ config, logger, timeoutMs: options.sendTimeoutMs });
  const log = logger.child({ queue: notificationsQueue.name });
  const pause = new QueuePause(notificationsQueue.name, logger, [breakerReason(provider.breaker.name), DATABASE_UNAVAILABLE]);

  async function deliver(job: Job<DeliveryJobData>, token: string | undefined): Promise<DeliveryOutcome> {
    const { eventId } = payloadOf(deliveryPayload, job);
    const jobLog = log.child({ eventId, jobId: job.id, attempt: job.attemptsMade + 1, requestId: job.data.requestId, correlationId: job.data.correlationId });
    if (providerAccepted(job)) {
      // An earlier run's send was accepted but its SENT could not be written: only the write is left, no send, no attempt.
      await repo.markSent(eventId);
      deliveries.inc({ outcome: 'sent' });
      jobLog.info('notification sent (accepted by the provider on an earlier run; SENT recorded now)');
      return { eventId, result: 'sent' };
    }
    await pause.unlessAdmitted(provider.breaker);
    const notification = await repo.beginAttempt(eventId);
    if (!notification) {
      if (!(await repo.byEventId(eventId))) throw new UnrecoverableError(`no notification has eventId ${eventId}`);
      // Never a second send for a notification the provider already accepted.
      jobLog.info('already sent; nothing to do');
      return { eventId, result: 'already-sent' };
    }
    // Another delivery took the half-open breaker's one trial call meanwhile: this attempt will not be made.
    if (!provider.breaker.admits()) {
      await repo.uncountAttempt(eventId);
      await pause.holdFor(provider.breaker);
    }
    try {
      // Checked and fired with no await between: the breaker cannot close its door in between.
      await provider.send(notification);
    } catch (error) {
      if (isOpenBreakerError(error)) {
        await repo.uncountAttempt(eventId);
        await pause.holdFor(provider.breaker);
      }
      // The provider is down for everyone, not refusing this message: no attempt, wait for the next trial.
      if (!(error instanceof UnrecoverableError) && failedWithOutage(provider.breaker)) {
        await repo.uncountAttempt(eventId);
        jobLog.info({ reason: (error as Error).message, breaker: provider.breaker.state }, 'provider down: no attempt counted, waiting for its breaker');
        await pause.setAsideFor(provider.breaker, job, token);
      }
      const final = error instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const reason = (error as Error).message;
      await repo.markAttemptFailed(eventId, reason, final);
      deliveries.inc({ outcome: final ? 'failed' : 'retried' });
      jobLog.warn({ reason, final }, final ? 'delivery failed; kept in the failed set' : 'delivery failed; will retry');
      throw error;
    }
    try {
      await repo.markSent(eventId);
    } catch (error) {
      // The provider has the message: what is left is the write, never another send or attempt. The job's
      // progress (in Redis, up while PostgreSQL is not) says so to its next run; guardDatabase then holds the
      // queue as for any database outage, no attempt counted (docs/reliability.md, "A notification delivered but
      // recorded FAILED"). Were Redis down too, the next run sends again under the same Idempotency-Key.
      await job
        .updateProgress(PROVIDER_ACCEPTED)
        .catch((progressError) => jobLog.warn({ err: progressError }, 'could not record on the job that the provider accepted it'));
      jobLog.warn({ err: error }, 'provider accepted the notification but SENT could not be written; only the write will be retried');
      throw error;
    }
    deliveries.inc({ outcome: 'sent' });
    jobLog.info({ attempts: notification.attempts }, 'notification sent');
    return { eventId, result: 'sent' };
  }

  const connection = createRedis(config.REDIS_URL, { role: 'worker', logger, name: 'notifications-delivery' });
  const lockDuration = options.lockDurationMs ?? config.WORKER_LOCK_MS;
  // Each attempt (retries included) is a span in the trace stored with the job; the provider call carries it as its traceparent.
  const run = (job: Job<DeliveryJobData>, token?: string) =>
    withJobTrace(job, { 'junction.event_id': String(job.data?.eventId) }, () => pause.guardDatabase(() => deliver(job, token)));
  const worker = new Worker<DeliveryJobData, DeliveryOutcome>(notificationsQueue.name, run, {
    ...PAUSABLE,
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: options.concurrency ?? 5,
    lockDuration,
    stalledInterval: options.stalledIntervalMs ?? lockDuration,
    maxStalledCount: options.maxStalledCount ?? 3,
    settings: workerSettings(notificationsQueue, config),
  });
  pause.attach(worker);
  worker.on('error', (error) => log.warn({ err: error }, 'delivery worker error'));
  // A job that stalled too often is failed by BullMQ without running deliver(): the row must still end FAILED.
  worker.on('failed', (job) => {
    if (!job?.deferredFailure) return;
    const reason = job.deferredFailure;
    repo
      .markAttemptFailed(job.data.eventId, reason, true)
      .then(() => {
        deliveries.inc({ outcome: 'failed' });
        log.warn({ eventId: job.data.eventId, jobId: job.id, reason }, 'delivery given up by BullMQ; kept in the failed set');
      })
      .catch((error) => log.error({ err: error, eventId: job.data.eventId }, 'could not mark a given-up delivery FAILED'));
  });

  return {
    worker,
    /** Waits for deliveries in flight, then stops; safe to call twice. */
    close: closePausable(worker, pause, connection, () => provider.close()),
  };
}

export type DeliveryWorker = Awaited<ReturnType<typeof createDeliveryWorker>>;

/** A delivery job's progress once the provider accepted its message and only the SENT write is left. */
const PROVIDER_ACCEPTED = { providerAccepted: true } as const;

/** True when an earlier run of `job` had its message accepted by the provider (PROVIDER_ACCEPTED). */
function providerAccepted(job: Pick<Job, 'progress'>): boolean {
  const progress = job.progress as unknown;
  return typeof progress === 'object' && progress !== null && (progress as { providerAccepted?: unknown }).providerAccepted === true;
}
