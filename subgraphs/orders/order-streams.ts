import { actingFor, canSee, isAdmin, requireViewer, type AccessContext } from '../../common/auth.ts';
import { InvalidInputError, NotFoundError } from '../../common/errors.ts';
import { isUuid } from '../../common/ids.ts';
import { slowSubscribersDropped } from '../../common/subscriptions/metrics.ts';
import { EventStream, SlowSubscriberError } from '../../common/subscriptions/stream.ts';
import type { ChangeFeed, Registration } from './change-feed.ts';
import { compareCursors, decodeCursor, encodeCursor, type ChangeFilter, type ChangeLog, type LogCursor, type LoggedChange } from './change-log.ts';
import type { OrderRow, OrderView, StatusChangeRow } from './repository.ts';

/** An event of a subscription and when the change it reports was made (for the delivery latency metric). */
export interface Delivery<T> {
  value: T;
  madeAt?: Date;
}

/** What orderUpdates delivers. */
export interface OrderUpdateEvent {
  cursor: string;
  change: StatusChangeRow;
  order: OrderRow;
}

export interface OrderStreamSettings {
  /** SUBSCRIPTION_QUEUE_MAX: events held for a subscriber before it is dropped. */
  queueMax: number;
  /** SUBSCRIPTION_REPLAY_HOURS: how old a cursor orderUpdates(after:) takes. */
  replayHours: number;
}

/** After these an order changes no more: orderUpdated completes. (CONFIRMED can still be cancelled.) */
const FINAL = new Set(['FAILED', 'CANCELLED']);

/** Most changes one replay statement reads. */
const REPLAY_PAGE = 500;

/** The order as one of its changes left it: the status it set, and the history up to it. */
function asOf({ change, order }: LoggedChange): OrderView {
  return {
    ...order,
    status: change.status,
    failureReason: change.status === 'FAILED' ? order.failureReason : null,
    updatedAt: change.at,
    historyUpTo: change.id,
  };
}

function update({ cursor, change, order }: LoggedChange): Delivery<OrderUpdateEvent> {
  return { value: { cursor: encodeCursor(cursor), change, order }, madeAt: change.at };
}

/**
 * The orders subgraph's subscriptions, over its change feed and change log
 * (docs/api/subscriptions.md): who may subscribe to what, the first event,
 * replay from a cursor and the seam between replay and live events. Each
 * subscription is an EventStream with its own bounded queue.
 */
export class OrderStreams {
  constructor(
    private readonly feed: ChangeFeed,
    private readonly log: ChangeLog,
    private readonly settings: OrderStreamSettings,
  ) {}

  private stream<T>(resume: string, onEnd: () => void, pull?: () => Promise<boolean>): EventStream<Delivery<T>> {
    return new EventStream<Delivery<T>>({ max: this.settings.queueMax, overflow: (max) => this.dropped(max, resume), onEnd, pull });
  }

  /** The error that ends a subscription whose subscriber fell `max` events behind (counted). */
  private dropped(max: number, resume: string): SlowSubscriberError {
    slowSubscribersDropped.inc({ subgraph: 'orders' });
    return new SlowSubscriberError(max, resume);
  }

  /**
   * orderUpdated (self): the order as it is now, then the order as each later
   * change left it, ending after FAILED or CANCELLED. Registers with the feed
   * before reading the order, so no change falls between the two; changes the
   * snapshot already shows are skipped. Someone else's or an unknown order:
   * NOT_FOUND, and nothing of it is sent.
   */
  async orderUpdated(ctx: AccessContext, id: string): Promise<EventStream<Delivery<OrderView>>> {
    requireViewer(ctx);
    if (!isUuid(id)) throw new NotFoundError('Order', id);
    const orderId = id.toLowerCase();
    await this.feed.position();
    let last: LogCursor | undefined;
    let early: LoggedChange[] | undefined = [];
    const resume = 'subscribe again for the order as it is now';
    const stream = this.stream<OrderView>(resume, () => registration.unsubscribe());
    const deliver = (change: LoggedChange) => {
      if (!last || compareCursors(change.cursor, last) <= 0) return;
      last = change.cursor;
      stream.push({ value: asOf(change), madeAt: change.change.at });
      if (FINAL.has(change.change.status)) stream.end();
    };
    const registration: Registration = this.feed.register({ orderId }, (change) => {
      if (!early) return deliver(change);
      if (early.length < this.settings.queueMax) early.push(change);
      else stream.fail(this.dropped(this.settings.queueMax, resume), true);
    });
    try {
      const snapshot = await this.log.snapshot(orderId);
      if (!snapshot || !canSee(ctx, snapshot.order.userId)) throw new NotFoundError('Order', id);
      last = snapshot.last;
      stream.push({ value: snapshot.order });
      if (FINAL.has(snapshot.order.status)) stream.end();
      const waiting = early;
      early = undefined;
      for (const change of waiting) deliver(change);
      return stream;
    } catch (error) {
      await stream.return();
      throw error;
    }
  }

  /**
   * orderUpdates (viewer): each change of the viewer's orders (an admin's:
   * of `userId`'s, or of every order), live from now, or from `after` on:
   * replayed from the log up to where the feed stands, then live, with no gap
   * and no repeat at the seam (see replay()).
   */
  async orderUpdates(ctx: AccessContext, args: { userId?: string | null; after?: string | null }): Promise<EventStream<Delivery<OrderUpdateEvent>>> {
    const viewer = requireViewer(ctx);
    const userId = args.userId === undefined || args.userId === null ? (isAdmin(ctx) ? undefined : viewer.id) : actingFor(ctx, args.userId);
    // A user id that is no UUID owns no order: nothing is ever sent (as orders(userId:) answers an empty page).
    const nothing = userId !== undefined && !isUuid(userId);
    const filter: ChangeFilter = userId === undefined ? {} : { userId: userId.toLowerCase() };
    const after = args.after === undefined || args.after === null ? undefined : await this.replayable(args.after);
    await this.feed.position();
    const resume = 'resume with orderUpdates(after:) and the cursor of the last update received';
    let registration: Registration | undefined;
    let last = after;
    // Live changes that come while the last replay statement runs: delivered after it.
    let waiting: LoggedChange[] | undefined;
    const stream = this.stream<OrderUpdateEvent>(resume, () => registration?.unsubscribe(), after ? () => replay() : undefined);
    const live = (change: LoggedChange) => {
      if (last && compareCursors(change.cursor, last) <= 0) return;
      last = change.cursor;
      stream.push(update(change));
    };
    if (!after) {
      registration = this.feed.register(filter, live);
      last = registration.at;
      return stream;
    }
    /**
     * Pulled by the stream whenever its queue is empty: pages of the log from
     * `after` up to where the feed stands, until one is short; then it
     * registers with the feed (holding back what the feed hands it) and
     * replays the rest up to the point it registered at; then the held-back
     * changes, and live ones from then on. The log up to the feed's position
     * is final, and the feed hands over only what follows it: no gap, no repeat.
     */
    const replay = async (): Promise<boolean> => {
      const to = registration?.at ?? (await this.feed.position());
      const page = Math.min(REPLAY_PAGE, this.settings.queueMax);
      const changes = nothing || compareCursors(last!, to) >= 0 ? [] : await this.log.replay(filter, last!, to, page);
      for (const change of changes) {
        last = change.cursor;
        stream.push(update(change));
      }
      if (changes.length === page) return true;
      if (!registration) {
        waiting = [];
        registration = this.feed.register(filter, (change) => {
          if (!waiting) return live(change);
          if (waiting.length < this.settings.queueMax) waiting.push(change);
          else stream.fail(this.dropped(this.settings.queueMax, resume), true);
        });
        return true;
      }
      const held = waiting ?? [];
      waiting = undefined;
      for (const change of held) live(change);
      return false;
    };
    return stream;
  }

  /** A cursor orderUpdates(after:) can resume from: one of the log's, no older than SUBSCRIPTION_REPLAY_HOURS; BAD_USER_INPUT on `after` otherwise. */
  private async replayable(value: string): Promise<LogCursor> {
    const cursor = decodeCursor(value, 'after');
    const madeAt = await this.log.madeAt(cursor);
    if (!madeAt) throw new InvalidInputError('after', 'after is not a cursor: pass the cursor of an OrderUpdate');
    const hours = this.settings.replayHours;
    if (madeAt.getTime() < Date.now() - hours * 3_600_000) {
      throw new InvalidInputError(
        'after',
        `after is older than ${hours} hours (SUBSCRIPTION_REPLAY_HOURS), as far back as updates are replayed: subscribe without after and read order(id) for the current state`,
      );
    }
    return cursor;
  }
}
