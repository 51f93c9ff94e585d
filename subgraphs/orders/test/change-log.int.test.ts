import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.ts';
import { ChangeFeed } from '../change-feed.ts';
import { ChangeLog, type LogCursor, type LoggedChange } from '../change-log.ts';
import { OrdersRepository } from '../repository.ts';

/**
 * The change log's reader against transactions held open on purpose: a change
 * whose transaction commits after a later one is still read, in order, where
 * a reader going by `id > cursor` would skip it for good.
 */
let database: TestDatabase;
let log: ChangeLog;
let repo: OrdersRepository;
/** A second connection pool, for the transactions held open. */
let other: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase('change_log');
  log = new ChangeLog(database.db);
  repo = new OrdersRepository(database.db);
  other = postgres(database.url, { max: 4, onnotice: () => {} });
});

afterAll(async () => {
  await other?.end();
  await database?.drop();
});

const place = async () =>
  (await repo.place({ userId: randomUUID(), productId: 'MUG-1', quantity: 1, idempotencyKey: null }, { requestId: 'r', correlationId: 'c' })).order.id;
const changeIds = (changes: LoggedChange[]) => changes.map((c) => c.change.id);

/** Everything readable after `from` now, page by page. */
async function readAll(from: LogCursor): Promise<{ changes: LoggedChange[]; heldBack: boolean }> {
  const changes: LoggedChange[] = [];
  let cursor = from;
  for (;;) {
    const page = await log.readAfter(cursor, 100);
    changes.push(...page.changes);
    if (page.changes.length > 0) cursor = page.changes.at(-1)!.cursor;
    if (page.heldBack || page.changes.length < 100) return { changes, heldBack: page.heldBack };
  }
}

/** Runs `work` in a transaction held open until the returned commit() is called. */
async function holdOpen(work: (tx: postgres.TransactionSql) => Promise<unknown>): Promise<{ commit(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const done = other.begin(async (tx) => {
    await work(tx);
    started();
    await released;
  });
  await Promise.race([ready, done]);
  return {
    async commit() {
      release();
      await done;
    },
  };
}

describe('the change log', () => {
  it('reads a change whose transaction commits after a later one, after it commits, where id > cursor would skip it', async () => {
    const [a, b] = [await place(), await place()];
    const start = await log.head();
    const lastId = (await database.sql`select max(id)::int as id from orders.order_status_changes`)[0]!.id as number;

    // Transaction 1 adds a change to A and stays open; transaction 2 adds one to B and commits: B's id is the higher.
    const first = await holdOpen((tx) => tx`insert into orders.order_status_changes (order_id, status) values (${a}, 'PROCESSING')`);
    await database.sql`insert into orders.order_status_changes (order_id, status) values (${b}, 'PROCESSING')`;
    const [bChange] = await database.sql`select id::int from orders.order_status_changes where order_id = ${b} order by id desc limit 1`;

    // A reader going by id alone sees B and moves past it...
    const naive = async (after: number) =>
      (await database.sql`select id::int from orders.order_status_changes where id > ${after} order by id`).map((r) => r.id as number);
    expect(await naive(lastId)).toEqual([bChange!.id]);
    // ...this one holds B back while A's transaction runs.
    expect(await readAll(start)).toEqual({ changes: [], heldBack: true });

    await first.commit();
    const [aChange] = await database.sql`select id::int from orders.order_status_changes where order_id = ${a} order by id desc limit 1`;
    expect(aChange!.id).toBeLessThan(bChange!.id);
    // Now the id reader, from where it stood, never sees A: a change lost for good.
    expect(await naive(bChange!.id)).toEqual([]);
    // The log gives both, A first: the order their transactions began in, each once.
    const { changes, heldBack } = await readAll(start);
    expect(heldBack).toBe(false);
    expect(changeIds(changes)).toEqual([aChange!.id, bChange!.id]);
  });

  it("keeps an order's changes in the order they were made when a transaction with an older id changes it second", async () => {
    const order = await place();
    const start = await log.head();
    // Transaction 1 takes its id first and waits; transaction 2, with a later id, changes the order and commits; then 1 changes it.
    const first = await other.reserve();
    try {
      await first`begin`;
      const firstXid = (await first`select pg_current_xact_id()::text as xid`)[0]!.xid as string;
      await repo.transition(order, { from: ['PENDING'], to: 'PROCESSING' });
      await first`insert into orders.order_status_changes (order_id, status) values (${order}, 'CANCELLED')`;
      await first`commit`;
      const [processing, cancelled] =
        await database.sql`select id::int, position::text from orders.order_status_changes where order_id = ${order} and status <> 'PENDING' order by id`;
      // By transaction id the cancellation would come first; its position is raised to the change before it.
      expect(BigInt(firstXid)).toBeLessThan(BigInt(processing!.position));
      expect(cancelled!.position).toBe(processing!.position);
      const { changes } = await readAll(start);
      expect(changes.map((c) => c.change.status)).toEqual(['PROCESSING', 'CANCELLED']);
    } finally {
      first.release();
    }
  });

  it("is not held back by another database's open transaction, only by this one's", async () => {
    const admin = postgres(new URL('/postgres', database.url).toString(), { max: 1, onnotice: () => {} });
    const elsewhere = await admin.reserve();
    try {
      await elsewhere`begin`;
      await elsewhere`select pg_current_xact_id()`;
      const start = await log.head();
      const order = await place();
      const { changes, heldBack } = await readAll(start);
      expect(heldBack).toBe(false);
      expect(changes.map((c) => c.change.orderId)).toEqual([order]);
      await elsewhere`rollback`;
    } finally {
      elsewhere.release();
      await admin.end();
    }
  });
});

describe('the change feed', () => {
  /** A feed and what it hands a listener of every order. */
  async function follow(options: { pollMs?: number } = {}) {
    const feed = new ChangeFeed(log, database.db.$client, createLogger('feed-test', 'silent'), options);
    await feed.position();
    const heard: LoggedChange[] = [];
    const registration = feed.register({}, (change) => {
      heard.push(change);
    });
    const until = (check: () => boolean, timeoutMs = 10_000) => expect.poll(check, { timeout: timeoutMs, interval: 10 }).toBe(true);
    return { feed, heard, until, registration };
  }

  it('hands over a change held back by an open transaction once it commits, after the earlier one, each once', async () => {
    const { feed, heard, until } = await follow();
    try {
      const [a, b] = [await place(), await place()];
      await until(() => heard.length === 2);
      const first = await holdOpen((tx) => tx`insert into orders.order_status_changes (order_id, status) values (${a}, 'PROCESSING')`);
      await repo.transition(b, { from: ['PENDING'], to: 'PROCESSING' });
      // B's change committed, but A's transaction, older, is still open: reads that began after it hand over nothing.
      const reads = feed.reads;
      await until(() => feed.reads >= reads + 3);
      expect(heard).toHaveLength(2);
      await first.commit();
      await until(() => heard.length === 4);
      expect(heard.slice(2).map((c) => c.change.orderId)).toEqual([a, b]);
      expect(new Set(heard.map((c) => c.change.id)).size).toBe(4);
    } finally {
      await feed.stop();
    }
  });

  it('loses nothing when its LISTEN connection is killed: it polls, and listens again', async () => {
    const { feed, heard, until } = await follow({ pollMs: 200 });
    try {
      await until(() => feed.isListening);
      const killed = await database.sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${database.name} and query ilike 'listen%'`;
      expect(killed).toHaveLength(1);
      await until(() => !feed.isListening);
      const order = await place();
      await until(() => heard.some((c) => c.change.orderId === order));
      await until(() => feed.isListening);
      const next = await place();
      await until(() => heard.some((c) => c.change.orderId === next));
    } finally {
      await feed.stop();
    }
  });
});
