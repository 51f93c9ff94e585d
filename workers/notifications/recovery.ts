import type { Config } from '../../common/config.ts';
import { addJob } from '../../common/queues.ts';
import { deliverNotification, deliveryJobData, deliveryJobId, type NotificationRow, type NotificationsRepository } from '../../subgraphs/notifications/module.ts';
import { batches, RecoverySweep, type SweepDependencies, type SweptState } from '../recovery-sweep.ts';
import { deliveries } from './metrics.ts';

export interface DeliveryRecoveryOptions extends SweepDependencies {
  repo: NotificationsRepository;
  config: Pick<Config, 'NOTIFY_RECOVERY_MS' | 'NOTIFY_RETRY_DELAYS_MS'>;
}

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
export class DeliveryRecovery extends RecoverySweep<NotificationRow, 'requeued' | 'failed'> {
  constructor(private readonly options: DeliveryRecoveryOptions) {
    // requeued: a job queued again (or run again); failed: a row made FAILED, its job kept in the failed set for retryNotification.
    super({ ...options, name: 'notification recovery', everyMs: options.config.NOTIFY_RECOVERY_MS }, ['requeued', 'failed']);
  }

  protected rows(batchSize: number): AsyncIterable<NotificationRow[]> {
    const { repo, config } = this.options;
    return batches<NotificationRow, string>((after, limit) => repo.waitingOnDelivery(config.NOTIFY_RECOVERY_MS, limit, after), (row) => row.id, batchSize);
  }

  protected jobIdOf(row: NotificationRow): string {
    return deliveryJobId(row.eventId);
  }

  protected async recover(row: NotificationRow, state: SweptState): Promise<'requeued' | 'failed' | undefined> {
    const { repo, config } = this.options;
    const log = this.logger.child({ eventId: row.eventId, status: row.status, state });
    if (state === 'missing') {
      await addJob(this.queue, deliverNotification, deliveryJobData(row), config);
      log.warn('notification delivery job lost from Redis: queued again');
      return 'requeued';
    }
    if (state === 'failed') {
      const job = await this.queue.getJob(this.jobIdOf(row));
      const reason = job?.failedReason || 'delivery job failed without recording it';
      if (!(await repo.markAttemptFailed(row.eventId, reason, true, config.NOTIFY_RECOVERY_MS))) return undefined;
      deliveries.inc({ outcome: 'failed' });
      log.warn({ reason }, 'notification left open by a failed delivery job: FAILED, kept in the failed set');
      return 'failed';
    }
    if (state === 'completed') {
      // Completed jobs mark their row SENT first: one read after the job finished tells a real leftover from a send just made.
      const current = await repo.byEventId(row.eventId);
      if (current?.status !== 'QUEUED' && current?.status !== 'RETRYING') return undefined;
      if (!(await this.rerunCompleted(this.jobIdOf(row)))) return undefined;
      log.warn('notification not SENT though its delivery job completed: run again');
      return 'requeued';
    }
    return undefined;
  }
}
