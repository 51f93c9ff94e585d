import { DelayedError, Worker, type Job, type WorkerOptions } from 'bullmq';
import type { Breaker } from '../common/breaker.ts';
import { isDatabaseUnavailable } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { closeWorker } from '../common/queues.ts';
import { counter, gauge } from '../common/metrics.ts';
import type { RedisConnection } from '../common/redis.ts';

/**
 * Worker options a pausable queue needs. BullMQ's manual rate limit
 * (`worker.rateLimit(ms)`) is only checked when the worker has a limiter
 * (its `max` turns the check on); this one is too high ever to bind.
 */
export const PAUSABLE = { limiter: { max: 1_000_000_000, duration: 1000 } } satisfies Partial<WorkerOptions>;

/** How long a queue waits while a breaker is half-open with its one trial call in flight. */
export const TRIAL_WAIT_MS = 500;
/** How long a queue waits before trying PostgreSQL again after it was unreachable. */
export const DATABASE_WAIT_MS = 1000;
/** Shortest pause (BullMQ needs a positive expiry; a breaker about to half-open still gets a moment). */
const MIN_PAUSE_MS = 50;

/** What a pause needs of a breaker (common/breaker.ts). */
export type PausingBreaker = Pick<Breaker<unknown[], unknown>, 'name' | 'state' | 'admits' | 'msUntilHalfOpen'>;

const pausedSeconds = counter({
  name: 'junction_queue_paused_seconds_total',
  help: 'Seconds a queue was held paused (no job started, no attempt counted) because a dependency it needs was down, by queue and reason.',
  labelNames: ['queue', 'reason'],
});

const pauses = new Set<QueuePause>();

gauge({
  name: 'junction_queue_paused',
  help: '1 while this process holds the queue paused for that reason, else 0.',
  labelNames: ['queue', 'reason'],
  collect() {
    this.reset();
    const now = Date.now();
    for (const pause of pauses) for (const [reason, until] of pause.holds()) this.set({ queue: pause.queue, reason }, until > now ? 1 : 0);
  },
});

/** Thrown to BullMQ when a job is put back by a pause (RateLimitError, recognised by its message) or set aside (DelayedError). */
export function isPauseSignal(error: unknown): boolean {
  return error instanceof Error && (error.message === Worker.RateLimitError().message || error instanceof DelayedError);
}

/** What an outage verdict needs of a breaker: its state once the failed call came back. */
export type OutageBreaker = Pick<PausingBreaker, 'state'>;

/**
 * True when a call that failed (not a refusal of the call itself) failed
 * because the dependency is down for everyone rather than for this job: the
 * breaker is not closed once the failure is counted. That is the half-open
 * trial finding the dependency still down (a failed trial opens the breaker
 * again), and the calls in flight when an outage opened it (the failure that
 * tipped it included). Such a failure is no attempt (docs/architecture.md,
 * invariant 8: an outage of any length pauses work). A failure with the
 * breaker still closed (the dependency serves others) is a real attempt.
 */
export function failedWithOutage(breaker: OutageBreaker): boolean {
  return breaker.state !== 'CLOSED';
}

/**
 * "An open breaker is a pause, not an attempt" (docs/architecture.md, invariant 8) for
 * one queue. While a dependency is known to be down, the job in hand goes
 * back to waiting without an attempt counted (BullMQ's manual rate limit:
 * `worker.rateLimit(ms)` then `Worker.RateLimitError()`), and no worker of the
 * queue, in any process, starts a job until the pause ends: until the breaker
 * half-opens, or for DATABASE_WAIT_MS when PostgreSQL was unreachable. Real
 * failures still count and still end in the failed set once retries are used up.
 */
export class QueuePause {
  private worker?: Worker;
  /** Until when (ms since the epoch) this process has held the queue paused, per reason. */
  private readonly until = new Map<string, number>();
  private readonly log: Logger;

  constructor(
    readonly queue: string,
    logger: Logger,
    /** Reasons shown on /metrics from the start, at zero. */
    reasons: readonly string[] = [],
  ) {
    this.log = logger.child({ queue });
    for (const reason of reasons) {
      pausedSeconds.inc({ queue, reason }, 0);
      this.until.set(reason, 0);
    }
    pauses.add(this);
  }

  /** The worker whose queue this pauses (created after the processor that uses this). */
  attach(worker: Worker): this {
    this.worker = worker;
    return this;
  }

  holds(): IterableIterator<[string, number]> {
    return this.until.entries();
  }

  /** Pauses the queue for `ms` and puts the current job back to waiting, its attempts unchanged. Never returns. */
  async hold(reason: string, ms: number): Promise<never> {
    const worker = this.worker;
    if (!worker) throw new Error(`queue ${this.queue}: pause used before attach()`);
    await worker.rateLimit(this.account(reason, ms));
    throw Worker.RateLimitError();
  }

  /** Records a pause of about `ms` for `reason` (metrics, one log line per pause); returns the pause in whole ms. */
  private account(reason: string, ms: number): number {
    const wait = Math.max(MIN_PAUSE_MS, Math.ceil(ms));
    const now = Date.now();
    const end = now + wait;
    const before = this.until.get(reason) ?? 0;
    if (end > before) {
      // Overlapping holds (several jobs in flight saw the same outage) are counted once.
      pausedSeconds.inc({ queue: this.queue, reason }, (end - Math.max(before, now)) / 1000);
      this.until.set(reason, end);
      if (before <= now) this.log.warn({ reason, pauseMs: wait }, `queue ${this.queue} paused: ${reason}`);
    }
    return wait;
  }

  /**
   * After a call that failed with the outage (failedWithOutage): no attempt
   * is counted; the queue is paused until the breaker half-opens, and this
   * job waits until then in BullMQ's delayed set, so it rejoins the queue
   * behind the others and the next trial call is another job's (a job the
   * dependency fails on its own cannot hold every trial). Never returns.
   */
  async setAsideFor(breaker: PausingBreaker, job: Job, token: string | undefined): Promise<never> {
    const worker = this.worker;
    if (!worker) throw new Error(`queue ${this.queue}: pause used before attach()`);
    const wait = this.account(breakerReason(breaker.name), breaker.state === 'OPEN' ? breaker.msUntilHalfOpen() : TRIAL_WAIT_MS);
    await worker.rateLimit(wait);
    // Without the lock token (a job run outside a worker) it can only go back to waiting.
    if (!token) throw Worker.RateLimitError();
    await job.moveToDelayed(Date.now() + wait, token);
    throw new DelayedError();
  }

  /** Holds the queue while `breaker` would not make a call: until it half-opens, or while its trial call is in flight. */
  async unlessAdmitted(breaker: PausingBreaker): Promise<void> {
    if (!breaker.admits()) await this.holdFor(breaker);
  }

  /** Holds the queue because `breaker` refused a call: until it half-opens (TRIAL_WAIT_MS when it is not open). Never returns. */
  holdFor(breaker: PausingBreaker): Promise<never> {
    const ms = breaker.state === 'OPEN' ? breaker.msUntilHalfOpen() : TRIAL_WAIT_MS;
    return this.hold(breakerReason(breaker.name), ms);
  }

  /**
   * Runs a job's work; when it ends because PostgreSQL is unreachable, holds
   * the queue instead of counting a failed attempt (the work is idempotent, so
   * running it again once the database is back is safe).
   */
  async guardDatabase<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (!isPauseSignal(error) && isDatabaseUnavailable(error)) await this.hold(DATABASE_UNAVAILABLE, DATABASE_WAIT_MS);
      throw error;
    }
  }

  /** Stops reporting this pause on /metrics. */
  close(): void {
    pauses.delete(this);
  }
}

/** The pause reason of an open breaker, e.g. `notify_unavailable`. */
export function breakerReason(name: string): string {
  return `${name.replace(/\W/g, '_')}_unavailable`;
}

export const DATABASE_UNAVAILABLE = 'database_unavailable';

/**
 * The close() of a pausable worker: waits for jobs in flight, then stops its
 * pause, what else it owns (`also`), and its connection. Safe to call twice.
 */
export function closePausable(worker: Worker, pause: QueuePause, connection: RedisConnection, also?: () => void | Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= (async () => {
      await closeWorker(worker, connection);
      pause.close();
      await also?.();
      connection.disconnect();
    })();
    return closing;
  };
}
