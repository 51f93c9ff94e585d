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

/** What sweep() counts: rows whose job was queued or run again; rows moved to their failed state. */
export type SweepOutcome = 'requeued' | 'failed';

/** A job that ended without finishing its row: the row's own fail transition. */
export interface FailRow<Row> {
  /**
   * Moves the row to its failed state, as the job's worker would have; false
   * when it had moved on (the worker, or another sweep, got there first).
   * `failedReason` is the job's, for one in the failed set.
   */
  fail(row: Row, job: { state: 'failed' | 'completed'; failedReason?: string }): Promise<boolean>;
  /** The warn line for a row it failed. */
  warning: string;
}

/** A completed job whose row it should have finished: runs it again, its attempts reset. */
export interface RerunJob<Row> {
  /** Whether the row is still unfinished, read after its job completed (which tells a real leftover from a row just finished). */
  unfinished(row: Row): Promise<boolean>;
  /** The warn line for a job it ran again. */
  warning: string;
}

/** What a sweep does with a job that ended: `failed` only for a sweep that counts `failed`. */
type EndedJobs<Row, Outcome extends SweepOutcome> = 'failed' extends Outcome
  ? {
      /** A job in the failed set while its row stayed open (its worker died before recording it). */
      failed: FailRow<Row>;
      /** A completed job while its row stayed open; left alone when not given. */
      completed?: FailRow<Row> | RerunJob<Row>;
    }
  : {
      /** Without a `failed` policy, a job that failed for good stays in the failed set. */
      failed?: never;
      completed?: RerunJob<Row>;
    };

/** One recovery sweep: what it looks at, and what differs from the others in putting a row right. */
export type RecoverySweepOptions<Row, Outcome extends SweepOutcome> = SweepDependencies &
  EndedJobs<Row, Outcome> & {
    /** What is swept, for the logs (`order recovery`). */
    name: string;
    /** How often start() sweeps. */
    everyMs: number;
    /** The rows waiting on a job, a batch at a time (see `batches`). */
    rows(batchSize: number): AsyncIterable<readonly Row[]>;
    /** The id of the row's job on `queue`. */
    jobIdOf(row: Row): string;
    /** What names the row in the sweep's warn lines (its job's state is added). */
    logFields(row: Row): Record<string, unknown>;
    /** Adds the row's job to `queue` again, under jobIdOf(row): two sweeps, or a sweep and whoever added it first, add one job. */
    requeue(row: Row): Promise<unknown>;
    /** The warn line for a row whose job Redis lost. */
    lost: string;
  };

/**
 * What the recovery sweeps share (the orders', the notifications', the
 * announced events'): a timer in every workers process, one sweep at a time,
 * none while Redis is not ready, and each sweep going through every row that
 * waits on a job, batch after batch (so rows whose jobs are merely waiting,
 * e.g. in a paused queue, never hide the ones behind them), and the policy:
 * a job Redis no longer has is added again under the same job id
 * (`requeued`); one that failed for good while its row stayed open gets the
 * row's own fail transition (`failed`); one that completed while its row is
 * unfinished runs again (`requeued`) or fails the row, as the sweep says.
 * Waiting, delayed and active jobs are left alone. No lock between
 * processes: N replicas sweep N times per interval, so each step must be safe
 * to run twice at once (same job id, one job; conditional transitions, one
 * winner).
 */
export class RecoverySweep<Row, Outcome extends SweepOutcome = SweepOutcome> {
  private readonly queue: Queue;
  private readonly logger: Logger;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;

  constructor(private readonly options: RecoverySweepOptions<Row, Outcome>) {
    this.queue = options.queue;
    this.logger = options.logger;
  }

  start(): this {
    this.timer ??= setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error) => this.logger.warn({ err: error }, `${this.options.name} sweep failed`))
        .finally(() => (this.sweeping = undefined));
    }, this.options.everyMs);
    this.timer.unref();
    return this;
  }

  /** One sweep now; how many rows had each outcome (`failed` only for a sweep with a `failed` policy). */
  async sweep(): Promise<Record<Outcome, number>> {
    const result = { requeued: 0, ...(this.options.failed && { failed: 0 }) } as Record<SweepOutcome, number>;
    if (!isRedisReady(this.options.redis)) return result;
    for await (const batch of this.options.rows(this.options.batchSize ?? 100)) {
      const states = await Promise.all(batch.map((row) => this.queue.getJobState(this.options.jobIdOf(row))));
      for (const [i, row] of batch.entries()) {
        const state = states[i]!;
        const outcome = await this.recover(row, state === 'unknown' ? 'missing' : state);
        if (outcome) result[outcome] += 1;
      }
    }
    return result;
  }

  /** Puts right a row whose job is in `state`; what it did, or undefined when nothing was needed. */
  private async recover(row: Row, state: SweptState): Promise<SweepOutcome | undefined> {
    const { options } = this;
    const jobId = options.jobIdOf(row);
    const log = this.logger.child({ ...options.logFields(row), state });
    if (state === 'missing') {
      await options.requeue(row);
      log.warn(options.lost);
      return 'requeued';
    }
    // Any other state (waiting, delayed, active, prioritized): the job itself will finish the row.
    if (state !== 'failed' && state !== 'completed') return undefined;
    const ended: FailRow<Row> | RerunJob<Row> | undefined = state === 'failed' ? options.failed : options.completed;
    if (!ended) return undefined;
    if ('fail' in ended) {
      const failedReason = state === 'failed' ? (await this.queue.getJob(jobId))?.failedReason || undefined : undefined;
      if (!(await ended.fail(row, { state, failedReason }))) return undefined;
      log.warn({ reason: failedReason }, ended.warning);
      return 'failed';
    }
    if (!(await ended.unfinished(row)) || !(await this.rerunCompleted(jobId))) return undefined;
    log.warn(ended.warning);
    return 'requeued';
  }

  /**
   * Runs a completed job again, its attempts reset; false when it is gone
   * (the next sweep finds it missing) or no longer completed (another sweep put it back first).
   */
  private async rerunCompleted(jobId: string): Promise<boolean> {
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
export async function* batches<Row, Key>(
  fetch: (after: Key | undefined, limit: number) => Promise<Row[]>,
  keyOf: (row: Row) => Key,
  limit: number,
): AsyncGenerator<Row[]> {
  let after: Key | undefined;
  for (;;) {
    const batch = await fetch(after, limit);
    if (batch.length > 0) yield batch;
    if (batch.length < limit) return;
    after = keyOf(batch.at(-1)!);
  }
}
