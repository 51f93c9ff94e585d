import type { WorkersConfig as Config } from '../settings.ts';
import { addJob } from '../../common/queues.ts';
import {
  deliverNotification,
  deliveryJobData,
  deliveryJobId,
  type NotificationRow,
  type NotificationsRepository,
} from '../../subgraphs/notifications/module.ts';
import { batches, RecoverySweep, type SweepDependencies } from '../recovery-sweep.ts';
import { deliveries } from './metrics.ts';

export interface DeliveryRecoveryOptions extends SweepDependencies {
  repo: NotificationsRepository;
  config: Pick<Config, 'NOTIFY_RECOVERY_MS' | 'NOTIFY_RETRY_DELAYS_MS'>;
}

/** requeued: a job queued again (or run again); failed: a row made FAILED, its job kept in the failed set for retryNotification. */
export type DeliveryRecovery = RecoverySweep<NotificationRow, 'requeued' | 'failed'>;

/**
 * "Ends SENT or FAILED", also when Redis lost the delivery job (a restart
 * without persistence, a Sentinel failover losing the last writes, a FLUSH):
 * every NOTIFY_RECOVERY_MS it looks at notifications still QUEUED or RETRYING
 * after that long (freshly ingested, waiting for a retry, or put back by
 * retryNotification), and at their delivery job. A job Redis no longer has is
 * added again under the same job id (so two sweeps, or a sweep and the relay,
 * add one job); one that failed for good while its row stayed open (its worker
 * died before recording it) makes the row FAILED, as the worker would have;
 * one that completed while its row is not SENT (a database restored from
 * before the send) runs again. Waiting, delayed and active jobs are left
 * alone. A SENT notification is never looked at, and the delivery itself
 * refuses to send a SENT one again, so nothing is delivered twice.
 */
export function deliveryRecovery(options: DeliveryRecoveryOptions): DeliveryRecovery {
  const { repo, config } = options;
  return new RecoverySweep<NotificationRow, 'requeued' | 'failed'>({
    ...options,
    name: 'notification recovery',
    everyMs: config.NOTIFY_RECOVERY_MS,
    rows: (batchSize) =>
      batches<NotificationRow, string>(
        (after, limit) => repo.waitingOnDelivery(config.NOTIFY_RECOVERY_MS, limit, after),
        (row) => row.id,
        batchSize,
      ),
    jobIdOf: (row) => deliveryJobId(row.eventId),
    logFields: (row) => ({ eventId: row.eventId, status: row.status }),
    requeue: (row) => addJob(options.queue, deliverNotification, deliveryJobData(row), config),
    lost: 'notification delivery job lost from Redis: queued again',
    failed: {
      fail: async (row, job) => {
        if (!(await repo.markAttemptFailed(row.eventId, job.failedReason ?? 'delivery job failed without recording it', true, config.NOTIFY_RECOVERY_MS)))
          return false;
        deliveries.inc({ outcome: 'failed' });
        return true;
      },
      warning: 'notification left open by a failed delivery job: FAILED, kept in the failed set',
    },
    completed: {
      // Completed jobs mark their row SENT first: one read after the job finished tells a real leftover from a send just made.
      unfinished: async (row) => {
        const status = (await repo.byEventId(row.eventId))?.status;
        return status === 'QUEUED' || status === 'RETRYING';
      },
      warning: 'notification not SENT though its delivery job completed: run again',
    },
  });
}
