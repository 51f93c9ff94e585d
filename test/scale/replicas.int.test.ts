import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../common/db.ts';
import { listen } from '../../common/http.ts';
import { listenSubgraph } from '../../common/subgraph.ts';
import { createLogger } from '../../common/logger.ts';
import { notificationsQueue } from '../../subgraphs/notifications/module.ts';
import { BACKUP_JOBS } from '../../workers/backup/index.ts';
import { backupsQueue } from '../../workers/backup/queue.ts';
import { listDumps } from '../../workers/backup/files.ts';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { createGateway } from '../../gateway/server.ts';
import { SUPERGRAPH_FILE } from '../../scripts/compose.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { gql } from '../support/graphql.ts';
import { expectInvariants } from '../support/invariants.ts';
import { startTestProvider, type TestProvider } from '../support/notify-provider.ts';
import { countBy, createProduct, createUser, dropQueues, fastOrderEnv, ordersSettled, placeOrder, waitForTerminal } from '../support/orders.ts';
import { startWorkersProcess, type ServiceProcess } from '../support/processes.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { metric } from '../support/metrics.ts';

/**
 * Several replicas of every stateful piece on one PostgreSQL and one Redis:
 * two gateways (each over its own orders subgraph), two orders subgraphs and
 * two workers processes. The BullMQ prefix carries a Redis Cluster hash tag.
 */
const fast = fastOrderEnv('replicas');
const PREFIX = `{${fast.QUEUE_PREFIX}}`;
const dir = mkdtempSync(join(tmpdir(), 'junction-replicas-'));
const supergraphPath = join(dir, 'supergraph.graphql');
/** The backups both workers processes write: one BACKUP_DIR, as a shared volume would be. */
const backupDir = join(dir, 'backups');
/** Both workers processes run the backup schedules, a dump every 2 s. */
const DUMP_EVERY_MS = 2000;
let provider: TestProvider;
let stack: Stack;
let redis: Redis;
let queue: Queue;
const gateways: { url: string; base: string }[] = [];
const workers: ServiceProcess[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  copyFileSync(SUPERGRAPH_FILE, supergraphPath);
  provider = await startTestProvider();
  // A generous inventory timeout and retries: 40 order jobs at once on two busy cores must not exhaust them.
  const env = {
    ...fast,
    INVENTORY_TIMEOUT_MS: '5000',
    ORDER_RETRY_DELAYS_MS: '100,200,400,800,1000',
    ORDER_CONCURRENCY: '10',
    QUEUE_PREFIX: PREFIX,
    NOTIFY_URL: provider.url,
    NOTIFY_RETRY_DELAYS_MS: '100,100,100',
    EVENT_REGISTRY_URL: '',
    SUPERGRAPH_PATH: supergraphPath,
  };
  // Replica 1: every subgraph and a gateway.
  stack = await startStack('replicas', { env });
  gateways.push({ url: stack.gatewayUrl, base: stack.gatewayBase });

  // Replica 2 of orders, and a second gateway that calls it.
  const logger = createLogger('replicas', 'silent');
  const orders = SUBGRAPHS.find((s) => s.name === 'orders')!;
  const handle = connect(stack.db.url);
  const subgraph = await (await orders.load())({ db: handle.db, config: stack.config, logger });
  const ordersHttp = await listenSubgraph(subgraph, 0);
  // The stack's gateway settings (timeouts and all), with the second orders subgraph.
  const config = { ...stack.config, ORDERS_URL: `${ordersHttp.url}/graphql` };
  const gateway = await createGateway({ config, logger });
  const gatewayHttp = await listen(gateway.app, 0);
  gateways.push({ url: `${gatewayHttp.url}/graphql`, base: gatewayHttp.url });
  closers.push(async () => {
    await gatewayHttp.close();
    await gateway.close();
    await ordersHttp.close();
    await subgraph.apollo.stop();
    await subgraph.close?.();
    await handle.close();
  });

  // Two workers processes.
  const workerEnv = {
    ...env,
    DATABASE_URL: stack.db.url,
    INVENTORY_URL: stack.urls.inventory!,
    INGEST_API_KEY: stack.config.INGEST_API_KEY,
    SERVICE_API_KEY: stack.config.SERVICE_API_KEY,
    // The backup schedules on in both (pg_dump of the test's database); the daily upload never comes round during the test.
    BACKUP_DUMP_EVERY_MS: String(DUMP_EVERY_MS),
    BACKUP_DIR: backupDir,
    BACKUP_UPLOAD_CRON: '0 0 0 1 1 *',
  };
  workers.push(...(await Promise.all([startWorkersProcess(workerEnv), startWorkersProcess(workerEnv)])));

  redis = new Redis(stack.config.REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue(ordersQueue.name, { connection: redis, prefix: PREFIX });
}, 150_000);

afterAll(async () => {
  await Promise.all(
    workers.map(async (w) => {
      w.child.kill('SIGTERM');
      await w.exited();
    }),
  );
  for (const close of closers) await close();
  await queue?.close();
  redis?.disconnect();
  await stack?.close();
  await provider?.close();
  await dropQueues(stack.config.REDIS_URL, PREFIX);
  rmSync(dir, { recursive: true, force: true });
});

describe('two gateways, two orders subgraphs, two workers processes', () => {
  // First, so that the dumps end (the scheduler is removed) before the order burst below.
  it('runs a scheduled job once per interval, not once per replica: one dump per 2 s from both workers processes', async () => {
    const backups = new Queue(backupsQueue.name, { connection: redis, prefix: PREFIX });
    try {
      // A window of several intervals with both processes running the schedules (time passes on purpose).
      await new Promise((resolve) => setTimeout(resolve, 5.5 * DUMP_EVERY_MS));
      for (const w of workers) expect(w.child.exitCode).toBeNull();
      // Stop the schedule (the rest of this file needs no pg_dump every 2 s) and let the dump in hand finish.
      const schedulers = (await backups.getJobSchedulers(0, -1, true)).filter((scheduler) => scheduler.name === BACKUP_JOBS.dump);
      for (const scheduler of schedulers) await backups.removeJobScheduler(scheduler.key);
      const stopped = Date.now();
      // (The upload's next job stays delayed until its cron comes round.)
      await expect
        .poll(async () => (await backups.getJobs(['active', 'waiting', 'delayed', 'prioritized'])).filter((job) => job.name === BACKUP_JOBS.dump).length, {
          timeout: 20_000,
          interval: 100,
        })
        .toBe(0);

      const jobs = (await backups.getJobs(['completed', 'failed'])).filter((job) => job.name === BACKUP_JOBS.dump);
      expect(jobs.filter((job) => job.failedReason).map((job) => job.failedReason)).toEqual([]);
      // Each job names its slot, `repeat:<scheduler>:<ms>`: the first is when the schedule began.
      const slots = jobs.map((job) => Number(job.id!.split(':').pop())).sort((a, b) => a - b);
      const dumps = await listDumps(backupDir);
      const began = Math.min(slots[0] ?? Infinity, dumps[0]?.time.getTime() ?? Infinity);
      const intervals = Math.floor((stopped - began) / DUMP_EVERY_MS) + 1;
      // The dumps in the shared BACKUP_DIR: at most one per interval (a schedule per replica makes two), over several.
      expect(dumps.length).toBeLessThanOrEqual(intervals);
      expect(dumps.length).toBeGreaterThanOrEqual(3);
      // Each is the dump of one run of the one scheduler on the shared queue.
      expect(dumps.map((d) => d.name).sort()).toEqual(jobs.map((job) => (job.returnvalue as { name: string }).name).sort());
      // No two runs in the same interval: one scheduler's slots are DUMP_EVERY_MS apart (a multiple of it, had a slot been
      // missed); a schedule per replica interleaves slots closer than that.
      const gaps = slots.slice(1).map((slot, i) => slot - slots[i]!);
      expect(gaps.filter((gap) => gap < DUMP_EVERY_MS || gap % DUMP_EVERY_MS !== 0)).toEqual([]);
    } finally {
      await backups.close();
    }
  }, 60_000);

  it('sells exactly the stock: 200 orders for 50 units through both gateways end 50 CONFIRMED and 150 OUT_OF_STOCK, each notification delivered once', async () => {
    for (const w of workers) expect((await fetch(`${w.base}/ready`)).status).toBe(200);
    const userId = await createUser(gateways[0]!.url);
    const buyer = await stack.as(userId);
    const productId = await createProduct(gateways[1]!.url, 50, stack.admin);
    const placed = await Promise.all(Array.from({ length: 200 }, (_, i) => placeOrder(gateways[i % 2]!.url, { userId, productId, quantity: 1 }, buyer)));
    const rows = await waitForTerminal(
      stack.db.sql,
      placed.map((o) => o.id),
      40_000,
    );
    expect(countBy(rows, (r) => `${r.status}:${r.failure_reason}`)).toEqual({ 'CONFIRMED:null': 50, 'FAILED:OUT_OF_STOCK': 150 });
    const [product] = await stack.db.sql`select stock, reserved from inventory.products where id = ${productId}`;
    expect(product).toEqual({ stock: 0, reserved: 50 });
    await expectInvariants(stack.db.sql, { settled: ordersSettled(stack.db.sql, queue) });

    // Both workers processes took orders: the queue is shared, not split or doubled.
    const attempts = await Promise.all(
      workers.map(
        async (w) =>
          (await metric(w.base, 'order_attempts_total', { outcome: 'confirmed' })) +
          (await metric(w.base, 'order_attempts_total', { outcome: 'out_of_stock' })),
      ),
    );
    expect(attempts.every((n) => n > 0)).toBe(true);
    expect(attempts[0]! + attempts[1]!).toBe(200);

    // The sign-up and 200 order outcomes: every notification SENT, each delivered to the provider once.
    const expected = 201;
    await expect
      .poll(async () => (await stack.db.sql`select count(*)::int as n from notifications.notifications where status = 'SENT'`)[0]!.n, {
        timeout: 30_000,
        interval: 200,
      })
      .toBe(expected);
    const accepted = provider.requests.filter((r) => r.status < 300);
    expect(provider.delivered.size).toBe(expected);
    expect(Object.values(countBy(accepted, (r) => r.key)).every((n) => n === 1)).toBe(true);
  }, 90_000);

  it('keeps every BullMQ key of a hash-tagged prefix in one Redis Cluster slot', async () => {
    const keys = await redis.keys(`${PREFIX}:*`);
    expect(keys.some((k) => k.startsWith(`${PREFIX}:${ordersQueue.name}:`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${PREFIX}:${notificationsQueue.name}:`))).toBe(true);
    // Redis Cluster hashes only the first {…} of a key: every key hashes its tag alone, so all land in one slot.
    const hashed = (key: string) => {
      const open = key.indexOf('{');
      const close = key.indexOf('}', open + 1);
      return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
    };
    expect(new Set(keys.map(hashed))).toEqual(new Set([fast.QUEUE_PREFIX]));
  });

  it('brings a supergraph change to every gateway', async () => {
    for (const g of gateways) expect((await gql(g.url, '{ products(first: 1) { totalCount } }')).errors).toBeUndefined();
    // A supergraph without the inventory subgraph, written over the file both gateways watch.
    const smaller = composeServices(
      SUBGRAPHS.filter((s) => s.name !== 'inventory').map((s) => ({
        name: s.name,
        url: `http://127.0.0.1:${s.defaultPort}/graphql`,
        typeDefs: parse(readFileSync(s.schemaFile, 'utf8')),
      })),
    );
    if (smaller.errors) throw smaller.errors[0];
    writeFileSync(supergraphPath, smaller.supergraphSdl);
    for (const g of gateways) {
      await expect
        .poll(async () => (await gql(g.url, '{ products(first: 1) { totalCount } }')).errors?.[0]?.extensions?.code, { timeout: 10_000, interval: 100 })
        .toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await gql(g.url, '{ users(first: 1) { totalCount } }', {}, stack.admin)).errors).toBeUndefined();
      // Inventory is gone from its /ready; the rest are up (polled: a check of every subgraph can miss its 1 s on a busy machine).
      await expect
        .poll(async () => (await fetch(`${g.base}/ready`)).json(), { timeout: 10_000, interval: 200 })
        .toMatchObject({ status: 'ready', subgraphs: { users: 'up', orders: 'up' } });
      expect(Object.keys(((await (await fetch(`${g.base}/ready`)).json()) as { subgraphs: object }).subgraphs)).not.toContain('inventory');
    }
  });
});
