import { Queue, UnrecoverableError, type BackoffStrategy, type Job, type Worker, type WorkerOptions } from 'bullmq';
import type { z } from 'zod';
import type { JobDefinition, QueueDefinition } from './jobs.ts';
import { isRedisReady, type RedisConnection } from './redis.ts';

/**
 * A custom backoff strategy (`settings.backoffStrategy` on a Worker, with
 * `backoff: { type: 'custom' }` on the job): waits `delays[n-1]` before retry n,
 * and the last delay again for any retry past the list.
 */
export function retryDelays(delays: readonly number[]): BackoffStrategy {
  return (attemptsMade) => delays[Math.min(Math.max(attemptsMade, 1), delays.length) - 1] ?? 0;
}

/** The `settings` of the Worker of `queue`: the backoff its retry settings ask for. */
export function workerSettings<C>(queue: QueueDefinition<C>, config: C): NonNullable<WorkerOptions['settings']> {
  return { backoffStrategy: retryDelays(queue.retry(config).delays ?? []) };
}

/**
 * A job's payload, parsed by `schema`. One that does not parse can never
 * succeed: an UnrecoverableError naming the job and the field, so BullMQ
 * fails the job at once instead of retrying it.
 */
export function payloadOf<S extends z.ZodType>(schema: S, job: Pick<Job, 'name' | 'id' | 'queueName' | 'data'>): z.output<S> {
  const result = schema.safeParse(job.data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(payload)';
  throw new UnrecoverableError(`malformed ${job.name} job ${job.id ?? ''} on ${job.queueName}: ${field}: ${issue.message}`);
}

/** Adds the job `definition` declares for `payload`, with its options and job id. */
export function addJob<S extends z.ZodType<Record<string, unknown>>, C>(
  queue: Queue,
  definition: JobDefinition<S, C>,
  payload: z.input<S>,
  config: C,
): Promise<Job> {
  const { name, jobId, payload: data } = definition.message(payload);
  return queue.add(name, data, { ...definition.options(config), jobId });
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
    readonly connection: RedisConnection,
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

  /** The queues named (opened if need be), e.g. every queue of subgraphs/index.ts's QUEUE_NAMES, for Bull Board and metrics. */
  only(names: Iterable<string>): Queue[] {
    return [...names].map((name) => this.get(name));
  }

  /** Every queue opened so far. */
  all(): Queue[] {
    return [...this.queues.values()];
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}

/** pg_notify channel that wakes the outbox relay; writers may notify it after inserting outbox rows. */
export const OUTBOX_CHANNEL = 'junction_outbox';

/**
 * Closes a BullMQ worker. While its Redis answers, gracefully: it takes no new
 * job and waits for the active ones. While Redis does not answer, at once
 * (`close(true)`): a graceful close waits for the worker's main loop, which
 * waits for Redis to come back (BullMQ#4656), so a SIGTERM during an outage
 * would hang until Kubernetes killed the pod. The jobs it had active keep
 * their locks until these lapse, then run again as stalled jobs.
 */
export function closeWorker(worker: Worker, connection: RedisConnection): Promise<void> {
  return worker.close(!isRedisReady(connection));
}
