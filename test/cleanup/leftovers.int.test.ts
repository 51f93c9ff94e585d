/**
 * The test helpers leave nothing behind in the shared Redis and PostgreSQL: a stack (with workers on it), a
 * notification base and a process spawned without a QUEUE_PREFIX each drop their keys, and the stack and the
 * base their databases, when closed.
 */
import postgres from 'postgres';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { notificationsQueue } from '../../subgraphs/notifications/module.ts';
import { startWorkers } from '../../workers/index.ts';
import { startNotificationBase } from '../support/notifications.ts';
import { spawnSubgraph } from '../support/processes.ts';
import { startStack } from '../support/stack.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redis = new Redis(REDIS_URL);
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });

afterAll(async () => {
  redis.disconnect();
  await admin.end();
});

async function keys(match: string): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of redis.scanStream({ match, count: 500 }) as AsyncIterable<string[]>) found.push(...batch);
  return found;
}

const databases = async (names: string[]) => (await admin`select datname from pg_database where datname = any(${names})`).map((row) => row.datname as string);

describe('what the test helpers leave behind', () => {
  it('a stack with workers on it: no key under its prefix (nor one derived from it), no database', async () => {
    const stack = await startStack('leftovers');
    const prefix = stack.config.QUEUE_PREFIX;
    let closed = false;
    try {
      expect(prefix).toMatch(/^jt-leftovers-/);
      const workers = await startWorkers(stack.config, createLogger('workers', 'silent'));
      await redis.set(`${prefix}:probe`, '1');
      await redis.set(`${prefix}-board:probe`, '1');
      expect((await keys(`${prefix}*`)).length).toBeGreaterThanOrEqual(2);
      expect(await databases([stack.db.name])).toEqual([stack.db.name]);
      await workers.close();
      closed = true;
      await stack.close();
    } finally {
      if (!closed) await stack.close();
    }
    expect(await keys(`${prefix}*`)).toEqual([]);
    expect(await databases([stack.db.name])).toEqual([]);
  });

  it('a notification base: no key under its prefix, no database', async () => {
    const base = await startNotificationBase('leftovers_notif', { relay: true });
    const prefix = base.config.QUEUE_PREFIX;
    try {
      await base.queues.get(notificationsQueue.name).add('probe', {});
      await redis.set(`${prefix}-derived:probe`, '1');
      expect((await keys(`${prefix}*`)).length).toBeGreaterThan(0);
    } finally {
      await base.close();
    }
    expect(await keys(`${prefix}*`)).toEqual([]);
    expect(await databases([base.db.name])).toEqual([]);
  });

  it('a process spawned without a QUEUE_PREFIX runs on one of its own, not the default, and its keys go with it', async () => {
    const stack = await startStack('leftovers_spawn');
    try {
      const orders = await spawnSubgraph('orders', {
        DATABASE_URL: stack.db.url,
        NODE_ENV: 'test',
        SERVICE_API_KEY: stack.config.SERVICE_API_KEY,
        ...stack.identity.env,
      });
      expect(orders.queuePrefix).toMatch(/^jt-subgraph-orders-/);
      await redis.set(`${orders.queuePrefix}:probe`, '1');
      await orders.stop();
      expect(await keys(`${orders.queuePrefix}*`)).toEqual([]);
    } finally {
      await stack.close();
    }
  });
});
