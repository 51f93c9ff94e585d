import { ServiceUnavailableError, type DomainError } from '../errors.ts';

/**
 * A subscriber fell too far behind: its events were dropped and its
 * subscription ends with this error, so the process never buffers without
 * bound for a client that does not read (docs/api/subscriptions.md).
 */
export class SlowSubscriberError extends ServiceUnavailableError {
  constructor(queued: number, resume: string) {
    super(`this subscription fell more than ${queued} events behind and was ended; ${resume}`, 0, { reason: 'SLOW_SUBSCRIBER' });
  }
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

export interface StreamOptions {
  /** Most events held for the consumer; one more ends the stream with `overflow()`'s error. */
  max: number;
  /** The error that ends the stream when it overflows. */
  overflow(max: number): DomainError;
  /** Called once when the stream stops taking events, however it ends (end(), fail(), overflow, the consumer leaving): release the producers. */
  onEnd?(): void;
  /**
   * When set, called by next() whenever nothing is queued and the stream has
   * not ended: it may push() events (a page of replay) and returns false when
   * there is nothing more to pull (the stream then waits for pushes).
   */
  pull?(): Promise<boolean>;
}

/**
 * The events of one subscription, queued for its consumer: a bounded queue
 * that producers push() to and the transport reads with next(). Unlike an
 * async generator function, return() ends it at once even while a next() is
 * waiting, so a consumer that leaves releases everything immediately.
 */
export class EventStream<T> implements AsyncGenerator<T, undefined, undefined> {
  private readonly queue: T[] = [];
  private waiter: ((result: IteratorResult<T, undefined>) => void) | undefined;
  private failWaiter: ((error: unknown) => void) | undefined;
  private failure: unknown;
  private ended = false;
  private closed = false;
  private pulling: StreamOptions['pull'];

  constructor(private readonly options: StreamOptions) {
    this.pulling = options.pull;
  }

  /** Whether the stream still takes events. */
  get open(): boolean {
    return !this.ended;
  }

  /** Queues an event (or hands it to a waiting next()); past `max` queued, ends the stream with the overflow error. */
  push(value: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = this.failWaiter = undefined;
      resolve({ done: false, value });
      return;
    }
    if (this.queue.length >= this.options.max) {
      this.queue.length = 0;
      this.fail(this.options.overflow(this.options.max));
      return;
    }
    this.queue.push(value);
  }

  /** Ends the stream after the events already queued. */
  end(): void {
    if (this.ended) return;
    this.stop();
    this.settle();
  }

  /** Ends the stream: next() throws `error` once the events already queued are read (`discard`: at once). */
  fail(error: unknown, discard = false): void {
    if (this.ended) return;
    this.stop();
    this.failure = error;
    if (discard) this.queue.length = 0;
    this.settle();
  }

  /** Stops pulling: from now on only pushed events arrive. */
  stopPulling(): void {
    this.pulling = undefined;
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.closed) return DONE;
      if (this.queue.length > 0) return { done: false, value: this.queue.shift()! };
      if (this.ended) return this.finish();
      const pull = this.pulling;
      if (!pull) break;
      if (!(await pull().catch((error: unknown) => (this.fail(error), false)))) this.pulling = undefined;
    }
    return new Promise<IteratorResult<T, undefined>>((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    this.stop();
    this.queue.length = 0;
    this.failure = undefined;
    this.closed = true;
    this.waiter?.(DONE);
    this.waiter = this.failWaiter = undefined;
    return DONE;
  }

  async throw(error: unknown): Promise<IteratorResult<T, undefined>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  /** Wakes a waiting next() once the stream has ended. */
  private settle(): void {
    if (!this.waiter || this.queue.length > 0) return;
    const resolve = this.waiter;
    const reject = this.failWaiter!;
    this.waiter = this.failWaiter = undefined;
    const failure = this.failure;
    this.failure = undefined;
    this.closed = true;
    if (failure === undefined) resolve(DONE);
    else reject(failure);
  }

  private finish(): Promise<IteratorResult<T, undefined>> {
    const failure = this.failure;
    this.failure = undefined;
    this.closed = true;
    return failure === undefined ? Promise.resolve(DONE) : Promise.reject(failure);
  }

  private stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.pulling = undefined;
    this.options.onEnd?.();
  }
}
