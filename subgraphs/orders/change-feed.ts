import type postgres from 'postgres';
import { listenConnection } from '../../common/db.ts';
import type { Logger } from '../../common/logger.ts';
import { compareCursors, type ChangeFilter, type ChangeLog, type LogCursor, type LoggedChange } from './change-log.ts';

/** The channel the change log's trigger notifies when changes commit (drizzle/0005). */
export const CHANGES_CHANNEL = 'orders_status_changes';

export interface ChangeFeedOptions {
  /** Reads the log this often also without a notification (a missed NOTIFY loses nothing). Default 1000 ms. */
  pollMs?: number;
  /** Changes read per statement. Default 1000. */
  pageSize?: number;
}

export type ChangeListener = (change: LoggedChange) => void;

/** A listener's registration. */
export interface Registration {
  /** The feed's position when it registered: it hears of every change after it, and of none before. */
  at: LogCursor;
  unsubscribe(): void;
}

/** Longest wait before reading again while committed changes are held back by an older running transaction. */
const HELD_BACK_MAX_MS = 200;

/**
 * One per orders process: follows the change log from where it stood when
 * the process started and hands each change, once and in order, to the
 * process's subscribers of that order, of that user, or of every order. Wakes
 * on the log's NOTIFY (a LISTEN connection of its own), reads once per wake-up
 * however many came (coalesced), and also every `pollMs`, so a change made by
 * any process, a worker's or another replica's, reaches every replica
 * (docs/api/subscriptions.md).
 */
export class ChangeFeed {
  private cursor: LogCursor | undefined;
  private heading: Promise<LogCursor> | undefined;
  private readonly byOrder = new Map<string, Set<ChangeListener>>();
  private readonly byUser = new Map<string, Set<ChangeListener>>();
  private readonly everyone = new Set<ChangeListener>();
  private reading: Promise<void> | undefined;
  private again = false;
  private heldBackMs = 0;
  private heldBackTimer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private listener: postgres.Sql | undefined;
  private listening: Promise<void> | undefined;
  private listened = false;
  private readCount = 0;
  private started = false;
  private stopped = false;
  private readonly pollMs: number;
  private readonly pageSize: number;

  constructor(
    private readonly log: ChangeLog,
    private readonly sql: postgres.Sql,
    private readonly logger: Logger,
    options: ChangeFeedOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.pageSize = options.pageSize ?? 1000;
  }

  /**
   * Starts listening and polling (position() does, on first use: a process
   * nobody subscribes to keeps no LISTEN connection); the first read finds
   * where the log stands, retried until the database answers.
   */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.poll = setInterval(() => {
      this.listen();
      this.wake();
    }, this.pollMs);
    this.poll.unref();
    this.listen();
    this.wake();
  }

  /** Stops reading and closes the LISTEN connection; registered listeners hear nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.heldBackTimer);
    await this.reading?.catch(() => {});
    await this.listener?.end({ timeout: 1 });
  }

  /** Reads of the log made so far (tests wait on it). */
  get reads(): number {
    return this.readCount;
  }

  /** Whether the LISTEN connection is listening now. */
  get isListening(): boolean {
    return this.listened;
  }

  /** How many listeners are registered. */
  get size(): number {
    let n = this.everyone.size;
    for (const set of this.byOrder.values()) n += set.size;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  /** The feed's position, once it knows where the log stands (reads it when it does not yet). */
  async position(): Promise<LogCursor> {
    this.start();
    if (this.cursor) return this.cursor;
    this.heading ??= this.log.head().finally(() => (this.heading = undefined));
    const head = await this.heading;
    // Another read may have set it meanwhile: never move back.
    this.cursor ??= head;
    return this.cursor;
  }

  /**
   * Registers `listener` for the changes of `filter` (an order, a user's orders,
   * or, empty, every order) after the feed's position, which it returns with it.
   * Synchronous, so nothing is dispatched between reading the position and
   * registering; call after position() resolved.
   */
  register(filter: ChangeFilter, listener: ChangeListener): Registration {
    if (!this.cursor) throw new Error('ChangeFeed.register before position() resolved');
    const [map, key] = filter.orderId ? [this.byOrder, filter.orderId] : filter.userId ? [this.byUser, filter.userId] : [undefined, undefined];
    let set = this.everyone;
    if (map && key) {
      set = map.get(key) ?? new Set();
      map.set(key, set);
    }
    set.add(listener);
    return {
      at: this.cursor,
      unsubscribe: () => {
        set.delete(listener);
        if (map && key && set.size === 0 && map.get(key) === set) map.delete(key);
      },
    };
  }

  /** Reads what committed since the last read, once however often it is called meanwhile. */
  wake(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readAll().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async readAll(): Promise<void> {
    try {
      let cursor = await this.position();
      for (;;) {
        const page = await this.log.readAfter(cursor, this.pageSize);
        this.readCount += 1;
        if (this.stopped) return;
        for (const change of page.changes) this.dispatch(change);
        if (page.changes.length > 0) {
          cursor = page.changes[page.changes.length - 1]!.cursor;
          this.cursor = cursor;
        }
        if (page.heldBack) return this.readSoon();
        this.heldBackMs = 0;
        if (page.changes.length < this.pageSize) return;
      }
    } catch (error) {
      // The next notification or poll reads again from the same place.
      this.logger.warn({ err: error }, 'reading the order change log failed');
    }
  }

  /** Committed changes wait behind a transaction still running (see ChangeLog): read again shortly, backing off to HELD_BACK_MAX_MS. */
  private readSoon(): void {
    this.heldBackMs = Math.min(Math.max(this.heldBackMs * 2, 2), HELD_BACK_MAX_MS);
    clearTimeout(this.heldBackTimer);
    this.heldBackTimer = setTimeout(() => this.wake(), this.heldBackMs);
    this.heldBackTimer.unref();
  }

  private dispatch(change: LoggedChange): void {
    if (this.cursor && compareCursors(change.cursor, this.cursor) <= 0) return;
    for (const listener of [...(this.byOrder.get(change.change.orderId) ?? []), ...(this.byUser.get(change.order.userId) ?? []), ...this.everyone]) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ err: error }, 'a change listener failed');
      }
    }
  }

  /** LISTENs on the log's channel unless it already does (again after the connection closed); every (re)start reads what it missed. */
  private listen(): void {
    if (this.stopped || this.listened || this.listening) return;
    this.listener ??= listenConnection(this.sql, {
      onnotify: () => this.wake(),
      onclose: () => {
        this.listened = false;
      },
    });
    const listener = this.listener;
    this.listening = listener
      .unsafe(`listen "${CHANGES_CHANNEL}"`)
      .then(
        () => {
          this.listened = true;
          this.wake();
        },
        (error: unknown) => this.logger.warn({ err: error }, 'LISTEN for order changes failed; polling until it works'),
      )
      .finally(() => (this.listening = undefined));
  }
}
