import type { Queue } from 'bullmq';
import type { NotificationsConfig as Config } from './settings.ts';
import { addJob } from '../../common/queues.ts';
import { currentTraceparent } from '../../common/tracing.ts';
import { deliverNotification, deliveryJobData, deliveryJobId } from './jobs.ts';
import type { NotificationRow } from './repository.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Puts a FAILED notification's delivery job back to work: the same job, out
 * of the failed set, with its attempts reset so the whole retry schedule runs
 * again (its payload, and so its trace, unchanged). A job Redis no longer
 * holds is added anew under the same id, in the trace of the active span
 * (the retryNotification request).
 */
export async function requeueDelivery(queue: Queue, row: NotificationRow, config: Pick<Config, 'NOTIFY_RETRY_DELAYS_MS'>): Promise<void> {
  const jobId = deliveryJobId(row.eventId);
  // The worker marks the row FAILED just before BullMQ moves the job to the failed set: wait that moment out.
  for (let waited = 0; ; waited += 50) {
    const job = await queue.getJob(jobId);
    if (!job) {
      await addJob(queue, deliverNotification, deliveryJobData(row, { traceparent: currentTraceparent() }), config);
      return;
    }
    const state = await job.getState();
    if (state === 'failed' || state === 'completed') {
      await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
      return;
    }
    // Already waiting to run again: nothing to do.
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') return;
    if (waited >= 3000) throw new Error(`delivery job ${jobId} is still ${state}`);
    await sleep(50);
  }
}
