import type { Job, Queue } from 'bullmq';
import { asc, inArray, isNull, sql } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/pg-core';
import type { WorkersConfig as Config } from './settings.ts';
import type { DbHandle } from '../common/db.ts';
import type { Logger } from '../common/logger.ts';
import type { AnyJob } from '../common/jobs.ts';
import { OUTBOX_CHANNEL, type QueueSet } from '../common/queues.ts';
import { isRedisReady, type RedisConnection } from '../common/redis.ts';
import type { OutboxTable } from '../common/outbox-table.ts';
import { JOBS, SUBGRAPHS } from '../subgraphs/index.ts';

export type { OutboxTable };

/** Every outbox the relay drains: the outbox of each subgraph whose module has one (users, orders, notifications). */
export async function loadOutboxes(): Promise<OutboxTable[]> {
  return Promise.all(SUBGRAPHS.flatMap((s) => (s.outbox ? [s.outbox()] : [])));
}

/** The subgraph an outbox belongs to: the one whose PostgreSQL schema holds it (each subgraph's schema is named after it). */
export function outboxOwner(table: OutboxTable): string {
  const schema = getTableConfig(table).schema;
  const owner = SUBGRAPHS.find((s) => s.pgSchema === schema);
  if (!owner) throw new Error(`no subgraph owns the outbox ${schema ?? ''}.${getTableConfig(table).name}`);
  return owner.name;
}

/** Where an outbox's rows are read and marked: the database of the subgraph that writes them. */
export type OutboxDatabase = (table: OutboxTable) => DbHandle;

export interface OutboxRelayOptions {
  /** The database of every outbox, unless `dbOf` says otherwise. */
  db: DbHandle;
  /** Each outbox's database (its owner's, when subgraphs have databases of their own). Default `db` for all. */
  dbOf?: OutboxDatabase;
  queues: QueueSet;
  /** The producer connection behind `queues`: while it is not ready the relay leaves rows where they are. */
  redis: RedisConnection;
  /** OUTBOX_POLL_MS, and the retry settings each job's options are drawn from. */
  config: Config;
  logger: Logger;
  /** Outboxes to drain. Default loadOutboxes(). */
  tables?: readonly OutboxTable[];
  /** Rows per transaction. Default 100. */
  batchSize?: number;
}

/** The declaration of an outbox row's job; a row no module declares is refused (and stays unpublished). */
function jobOf(row: { queue: string; name: string }): AnyJob {
  const job = JOBS.find((candidate) => candidate.queue.name === row.queue && candidate.accepts(row.name));
  if (!job) throw new Error(`no subgraph module declares job ${row.name} on queue ${row.queue}`);
  return job;
}

/** An outbox row of any table. */
export type OutboxRow = OutboxTable['$inferSelect'];

/** Adds the job an outbox row stands for to `queue` (its queue), with the options its declaration draws from config and the row's job id. */
export function addOutboxJob(queue: Queue, row: Pick<OutboxRow, 'queue' | 'name' | 'payload' | 'jobId'>, config: Config): Promise<Job> {
  return queue.add(row.name, row.payload, { ...jobOf(row).options(config), jobId: row.jobId });
}

/**
 * Publishes outbox rows as BullMQ jobs (`queue.add(name, payload, { jobId })`)
 * and marks them published. Rows are claimed with FOR UPDATE SKIP LOCKED, so
 * several relays share the work; a row whose add failed (Redis down) stays
 * unpublished and is tried again on the next poll. A NOTIFY on OUTBOX_CHANNEL
 * only wakes the relay early, for the outbox its payload names (the writers
 * name their subgraph); polling every OUTBOX_POLL_MS, over every outbox, is
 * what guarantees delivery. The same row published twice adds one job (same job id).
 * Each outbox is read in its owner's database (`dbOf`), in a transaction of
 * its own: no transaction spans two subgraphs' databases; the relay listens
 * on each distinct database.
 */
export class OutboxRelay {
  private tables?: readonly OutboxTable[];
  private readonly batchSize: number;
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private woken = false;
  /** Since the pass in progress began: the outboxes a NOTIFY named, and whether a wake-up named none (or one unknown): then every outbox. */
  private readonly named = new Set<string>();
  private wokenForAll = false;
  private owners?: Map<OutboxTable, string>;
  private readonly unlistens: (() => Promise<void>)[] = [];
  private lastErrorLog = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.tables = options.tables;
    this.batchSize = options.batchSize ?? 100;
  }

  /** Starts polling (and listening for wake-ups on each outbox's database) in the background. */
  start(): this {
    this.loop ??= this.run();
    void this.listen();
    return this;
  }

  private dbOf(table: OutboxTable): DbHandle {
    return this.options.dbOf?.(table) ?? this.options.db;
  }

  private async listen(): Promise<void> {
    try {
      this.tables ??= await loadOutboxes();
    } catch (error) {
      return this.options.logger.warn({ err: error }, 'outbox relay cannot LISTEN; polling only');
    }
    for (const handle of new Set(this.tables.map((table) => this.dbOf(table)))) {
      handle.sql
        .listen(OUTBOX_CHANNEL, (payload) => this.poke(payload))
        .then((listening) => {
          if (this.stopped) return listening.unlisten();
          this.unlistens.push(listening.unlisten);
        })
        .catch((error) => this.options.logger.warn({ err: error }, 'outbox relay cannot LISTEN; polling only'));
    }
  }

  /**
   * Wakes the relay before its next poll. `outbox`: the subgraph whose outbox
   * has new rows (the NOTIFY's payload, as the writers send it): the pass it
   * wakes reads only the outboxes named since the last pass began. Without
   * one, or with a name no outbox has, the pass reads every outbox.
   */
  poke(outbox?: string): void {
    if (outbox) this.named.add(outbox);
    else this.wokenForAll = true;
    this.woken = true;
    this.wake?.();
  }

  private ownerOf(table: OutboxTable): string {
    this.owners ??= new Map();
    let owner = this.owners.get(table);
    if (owner === undefined) this.owners.set(table, (owner = outboxOwner(table)));
    return owner;
  }

  /**
   * One pass over every outbox (or only those of `only`, by owner) until each
   * has no unpublished row it can take; returns rows published.
   */
  async publishPending(only?: ReadonlySet<string>): Promise<number> {
    let total = 0;
    this.tables ??= await loadOutboxes();
    for (const table of this.tables) {
      if (only && !only.has(this.ownerOf(table))) continue;
      for (;;) {
        const { published, more } = await this.publishBatch(table);
        total += published;
        if (!more) break;
      }
    }
    return total;
  }

  /** Publishes up to batchSize rows of one outbox in one transaction; `more` when a full batch went out. */
  async publishBatch(table: OutboxTable): Promise<{ published: number; more: boolean }> {
    const { queues, redis, config } = this.options;
    const db = this.dbOf(table);
    // A producer connection that is not ready would make BullMQ wait for it while we hold row locks.
    if (!isRedisReady(redis)) return { published: 0, more: false };
    return db.db.transaction(async (tx) => {
      const rows = await tx
        .select()
        .from(table)
        .where(isNull(table.publishedAt))
        .orderBy(asc(table.id))
        .limit(this.batchSize)
        .for('update', { skipLocked: true });
      if (rows.length === 0) return { published: 0, more: false };
      const results = await Promise.allSettled(rows.map(async (row) => addOutboxJob(queues.get(row.queue), row, config)));
      const published = rows.filter((_, i) => results[i]!.status === 'fulfilled').map((row) => row.id);
      if (published.length > 0) {
        await tx
          .update(table)
          .set({ publishedAt: sql`now()` })
          .where(inArray(table.id, published));
      }
      const failed = results.findIndex((result) => result.status === 'rejected');
      if (failed >= 0) {
        this.logError((results[failed] as PromiseRejectedResult).reason, `outbox row ${rows[failed]!.id} not published; it stays for the next poll`);
      }
      // After a failure the rest waits for the next poll.
      return { published: published.length, more: failed < 0 && rows.length === this.batchSize };
    });
  }

  private async run(): Promise<void> {
    // The first pass, and every pass the poll timer starts, reads every outbox: polling is what guarantees delivery.
    let everyOutbox = true;
    while (!this.stopped) {
      this.woken = false;
      // Wake-ups from now on are for the next pass.
      const only = everyOutbox || this.wokenForAll ? undefined : this.knownOnly();
      this.named.clear();
      this.wokenForAll = false;
      try {
        await this.publishPending(only);
      } catch (error) {
        this.logError(error, 'outbox relay pass failed');
      }
      if (this.stopped) continue;
      if (this.woken) {
        everyOutbox = false;
        continue;
      }
      everyOutbox = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), this.options.config.OUTBOX_POLL_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      this.wake = undefined;
    }
  }

  /** The outboxes named since the last pass began, or undefined (every outbox) when a name is not one of an outbox's owners. */
  private knownOnly(): ReadonlySet<string> | undefined {
    if (!this.tables) return undefined;
    let owners: Set<string>;
    try {
      owners = new Set(this.tables.map((table) => this.ownerOf(table)));
    } catch {
      // An outbox no subgraph owns (a test's): every pass reads every outbox.
      return undefined;
    }
    if ([...this.named].some((name) => !owners.has(name))) return undefined;
    return new Set(this.named);
  }

  private logError(error: unknown, message: string): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 5000) return;
    this.lastErrorLog = now;
    this.options.logger.warn({ err: error }, message);
  }

  /** Stops after the pass in progress; safe to call twice. */
  async close(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.unlistens.splice(0).map((unlisten) => unlisten().catch(() => {})));
  }
}
