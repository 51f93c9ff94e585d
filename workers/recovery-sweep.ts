import type { JobState, Queue } from 'bullmq';
import type { Logger } from '../common/logger.ts';
import { isRedisReady, type RedisConnection } from '../common/redis.ts';

/** A job's state as a sweep sees it: BullMQ's, or `missing` when Redis has no job of that id. */
export type SweptState = JobState | 'missing';

/** What every recovery sweep is given. */
export interface SweepDependencies {
  /** The queue the rows' jobs are on (producer side). */
  queue: Queue;
  /** The producer connection behind `queue`; no sweep runs while it is not ready. */
  redis: RedisConnection;
  logger: Logger;
  /** Rows looked at per batch (one query, then one job-state lookup per row, all at once). Default 100. */
  batchSize?: number;
}

export interface RecoverySweepOptions extends SweepDependencies {
  /** What is swept, for the logs (`order recovery`). */
  name: string;
  /** How often start() sweeps. */
  everyMs: number;
}

/**
 * What the recovery sweeps share (the orders', the notifications'): a timer in
 * every workers process, one sweep at a time, none while Redis is not ready,
 * and each sweep going through every row that waits on a job, batch after
 * batch (so rows whose jobs are merely waiting, e.g. in a paused queue, never
 * hide the ones behind them), handing each row and its job's state to
 * recover(). No lock between processes: N replicas sweep N times per
 * interval, so recover() must be safe to run twice at once (same job id, one
 * job; conditional transitions, one winner).
 */
export abstract class RecoverySweep<Row, Outcome extends string> {
  protected readonly queue: Queue;
  protected readonly logger: Logger;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;

  constructor(
    private readonly sweepOptions: RecoverySweepOptions,
    /** What recover() may report, each counted in sweep()'s result. */
    private readonly outcomes: readonly Outcome[],
  ) {
    this.queue = sweepOptions.queue;
    this.logger = sweepOptions.logger;
  }

  /** The rows to look at, a batch at a time (see `batches`). */
  protected abstract rows(batchSize: number): AsyncIterable<readonly Row[]>;

  /** The id of the row's job on `queue`. */
  protected abstract jobIdOf(row: Row): string;

  /** Puts right a row whose job is in `state`; what it did, or undefined when nothing was needed. */
  protected abstract recover(row: Row, state: SweptState): Promise<Outcome | undefined>;

  start(): this {
    this.timer ??= setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error) => this.logger.warn({ err: error }, `${this.sweepOptions.name} sweep failed`))
        .finally(() => (this.sweeping = undefined));
    }, this.sweepOptions.everyMs);
    this.timer.unref();
    return this;
  }

  /** One sweep now; how many rows had each outcome. */
  async sweep(): Promise<Record<Outcome, number>> {
    const result = Object.fromEntries(this.outcomes.map((outcome) => [outcome, 0])) as Record<Outcome, number>;
    if (!isRedisReady(this.sweepOptions.redis)) return result;
    for await (const batch of this.rows(this.sweepOptions.batchSize ?? 100)) {
      const states = await Promise.all(batch.map((row) => this.queue.getJobState(this.jobIdOf(row))));
      for (const [i, row] of batch.entries()) {
        const state = states[i]!;
        const outcome = await this.recover(row, state === 'unknown' ? 'missing' : state);
        if (outcome) result[outcome] += 1;
      }
    }
    return result;
  }

  /**
   * Runs a completed job again, its attempts reset; false when it is gone
   * (the next sweep finds it missing) or no longer completed (another sweep put it back first).
   */
  protected async rerunCompleted(jobId: string): Promise<boolean> {
    const job = await this.queue.getJob(jobId);
    if (!job) return false;
    return job.retry('completed', { resetAttemptsMade: true, resetAttemptsStarted: true }).then(
      () => true,
      () => false,
    );
  }

  /** Stops sweeping (after a sweep in progress); safe to call twice. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }
}

/**
 * Batches of `fetch(after, limit)`, keyset-paged: each batch starts after the
 * key of the last row of the one before, until a batch comes back short.
 */
export async function* batches<Row, Key>(fetch: (after: Key | undefined, limit: number) => Promise<Row[]>, keyOf: (row: Row) => Key, limit: number): AsyncGenerator<Row[]> {
  let after: Key | undefined;
  for (;;) {
    const batch = await fetch(after, limit);
    if (batch.length > 0) yield batch;
    if (batch.length < limit) return;
    after = keyOf(batch.at(-1)!);
  }
}
