import { Queue, type BackoffStrategy, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';

/** BullMQ queue names (under QUEUE_PREFIX). */
export const QUEUES = {
  /** Order processing: job `process` (id = order id) and `release` (id = releaseJobId(order id)). */
  orders: 'orders',
  /** Domain events (USER_SIGNUP, ORDER_CONFIRMED, ...), recorded as notifications. */
  notificationEvents: 'notification-events',
  /** Notification delivery (id = eventId). */
  notifications: 'notifications',
  /** Database backups: `dump` and `upload` jobs made by two job schedulers (workers/backup/). */
  backups: 'backups',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Job names on the `orders` queue. */
export const ORDER_JOBS = {
  /** Reserve stock for a new order, then CONFIRMED or FAILED. Payload `{ orderId, requestId?, correlationId? }`. */
  process: 'process',
  /** Give back whatever stock an order may hold; retried until inventory answers. Payload `{ orderId }`. */
  release: 'release',
} as const;

/** Payload of both order jobs. */
export interface OrderJobData {
  orderId: string;
  requestId?: string;
  correlationId?: string;
}

/** Job id of an order's release job (BullMQ job ids must not contain ':'). */
export function releaseJobId(orderId: string): string {
  return `release-${orderId}`;
}

/** True when BullMQ accepts `id` as a custom job id. */
export function isValidJobId(id: string): boolean {
  return id.length > 0 && !id.includes(':') && !/^\d+$/.test(id);
}

/** Enough attempts to mean "until it succeeds" (58 days at 5 s apart). */
export const UNTIL_IT_SUCCEEDS = 1_000_000;

/**
 * A custom backoff strategy (`settings.backoffStrategy` on a Worker, with
 * `backoff: { type: 'custom' }` on the job): waits `delays[n-1]` before retry n,
 * and the last delay again for any retry past the list.
 */
export function retryDelays(delays: readonly number[]): BackoffStrategy {
  return (attemptsMade) => delays[Math.min(Math.max(attemptsMade, 1), delays.length) - 1] ?? 0;
}

const kept = {
  // Completed jobs are kept a day for Bull Board; failed ones stay until someone acts on them.
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: false,
} satisfies JobsOptions;

/**
 * Options for a job `name` on `queue`: attempts and backoff follow the retry
 * settings in `config`. Used by the outbox relay for every row it publishes.
 */
export function jobOptionsFor(queue: string, name: string, config: Pick<Config, 'ORDER_RETRY_DELAYS_MS' | 'NOTIFY_RETRY_DELAYS_MS'>): JobsOptions {
  if (queue === QUEUES.orders) {
    const attempts = name === ORDER_JOBS.release ? UNTIL_IT_SUCCEEDS : config.ORDER_RETRY_DELAYS_MS.length + 1;
    return { ...kept, attempts, backoff: { type: 'custom' } };
  }
  if (queue === QUEUES.notifications) {
    return { ...kept, attempts: config.NOTIFY_RETRY_DELAYS_MS.length + 1, backoff: { type: 'custom' } };
  }
  // notification-events and anything else: recording is local work, retried a few times.
  return { ...kept, attempts: 5, backoff: { type: 'exponential', delay: 1000 } };
}

/**
 * The producer side of every queue, created on first use and sharing one
 * connection (a `producer` connection from common/redis.ts, so adds fail fast
 * while Redis is down).
 */
export class QueueSet {
  private readonly queues = new Map<string, Queue>();

  constructor(
    /** The producer connection every queue shares. */
    readonly connection: Redis,
    readonly prefix: string,
  ) {}

  get(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      // Errors also reach the caller of the failed command; this keeps EventEmitter from throwing.
      queue.on('error', () => {});
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Every queue Junction uses, for Bull Board and metrics. */
  all(): Queue[] {
    for (const name of Object.values(QUEUES)) this.get(name);
    return [...this.queues.values()];
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}

/** pg_notify channel that wakes the outbox relay; writers may notify it after inserting outbox rows. */
export const OUTBOX_CHANNEL = 'junction_outbox';
