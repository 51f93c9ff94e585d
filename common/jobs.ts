import type { BackoffOptions, JobsOptions } from 'bullmq';
import { z } from 'zod';

/**
 * Declarations of BullMQ queues and jobs, with no domain in them: each module
 * that produces a job declares it (queue, name, payload schema, options drawn
 * from config) with these, and its outbox writer and its worker import that one
 * declaration. Cheap to import (no BullMQ at run time): the facts in
 * subgraphs/<name>/module.ts use it.
 */

/** True when BullMQ accepts `id` as a custom job id. */
export function isValidJobId(id: string): boolean {
  return id.length > 0 && !id.includes(':') && !/^\d+$/.test(id);
}

/**
 * The ids a job carries from the request (or the job) that caused it, so its
 * logs join that request's and its span continues that trace: `traceparent` is
 * the W3C trace context (OpenTelemetry) current when the job was written.
 * All optional: jobs written before a field existed still parse.
 */
export const requestIdFields = { requestId: z.string().optional(), correlationId: z.string().optional(), traceparent: z.string().optional() };

/** Enough attempts to mean "until it succeeds" (58 days at 5 s apart). */
export const UNTIL_IT_SUCCEEDS = 1_000_000;

/** How a queue's jobs are retried. */
export interface RetrySettings {
  /** Runs in all, the first included. */
  attempts: number;
  backoff: BackoffOptions;
  /**
   * With `backoff: { type: 'custom' }`: the wait before retry n is `delays[n-1]`
   * (the last one again past the list); the queue's Worker gets them as its
   * backoffStrategy (common/queues.ts workerSettings).
   */
  delays?: readonly number[];
}

/** Retries after each of `delays`, then the job fails for good. */
export function afterEach(delays: readonly number[]): RetrySettings {
  return { attempts: delays.length + 1, backoff: { type: 'custom' }, delays };
}

export interface QueueDefinition<C> {
  /** The BullMQ queue name (under QUEUE_PREFIX). */
  readonly name: string;
  /** Its jobs' retry settings, from the configuration. */
  retry(config: C): RetrySettings;
}

/** A BullMQ queue and the retry settings of its jobs. */
export function defineQueue<C>(name: string, retry: (config: C) => RetrySettings): QueueDefinition<C> {
  return { name, retry };
}

/** One outbox row: the job the outbox relay adds once the transaction that wrote it commits. */
export interface OutboxMessage {
  queue: string;
  name: string;
  jobId: string;
  payload: Record<string, unknown>;
}

export interface JobDefinition<S extends z.ZodType<Record<string, unknown>>, C> {
  readonly queue: QueueDefinition<C>;
  /** The job's name on its queue; `null` when each job is named by `nameOf` (e.g. after its notification type). */
  readonly name: string | null;
  /** What its payload must be; a worker fails a job whose payload does not parse for good (common/queues.ts payloadOf). */
  readonly payload: S;
  /** True when a job of this name on this queue is this kind. */
  accepts(name: string): boolean;
  /** BullMQ options of the job: its queue's retry settings (attempts overridden by the job's own, if any), ids kept. */
  options(config: C): JobsOptions;
  /** The job id for `payload` (publishing the same payload twice adds one job). */
  jobId(payload: z.input<S>): string;
  /** The outbox row that publishes this job with `payload`. */
  message(payload: z.input<S>): OutboxMessage;
}

const kept = {
  // Completed jobs are kept a day for Bull Board; failed ones stay until someone acts on them.
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: false,
} satisfies JobsOptions;

export interface JobSpec<S extends z.ZodType<Record<string, unknown>>, C> {
  /** A fixed job name, or how each job is named from its payload. */
  name: string | ((payload: z.input<S>) => string);
  payload: S;
  jobId(payload: z.input<S>): string;
  /** Attempts other than the queue's (e.g. UNTIL_IT_SUCCEEDS). */
  attempts?: (config: C) => number;
}

/** A kind of job on `queue`, declared once by the module that produces it. */
export function defineJob<S extends z.ZodType<Record<string, unknown>>, C>(queue: QueueDefinition<C>, spec: JobSpec<S, C>): JobDefinition<S, C> {
  const { name } = spec;
  return {
    queue,
    name: typeof name === 'string' ? name : null,
    payload: spec.payload,
    accepts: (given) => typeof name !== 'string' || given === name,
    options(config) {
      const { attempts, backoff } = queue.retry(config);
      return { ...kept, attempts: spec.attempts?.(config) ?? attempts, backoff };
    },
    jobId: spec.jobId,
    message: (payload) => ({
      queue: queue.name,
      name: typeof name === 'string' ? name : name(payload),
      jobId: spec.jobId(payload),
      payload: payload as Record<string, unknown>,
    }),
  };
}

/** Any job declaration (modules list theirs in `jobs`). */
export type AnyJob = JobDefinition<z.ZodType<Record<string, unknown>>, any>;
