import { once } from 'node:events';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivateRedis } from '../../test/support/orders.ts';
import { closeRedis, createRedis } from '../redis.ts';

describe('a worker connection while Redis is away', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  // patches/ioredis: disconnect() of a connection waiting to reconnect cleared its timer and emitted nothing, so it
  // stayed "reconnecting" for ever and BullMQ's Worker.close(), which waits for "end", hung (workers/test/ready.int.test.ts).
  it('ends when disconnected while it waits to reconnect, and fails what it had queued', async () => {
    const connection = createRedis(redis.url, { role: 'worker', name: 'reconnecting' }) as Redis;
    try {
      await once(connection, 'ready');
      await redis.stop();
      await expect.poll(() => connection.status, { timeout: 10_000 }).toBe('reconnecting');
      const queued = connection.get('anything');
      const ended = once(connection, 'end');
      connection.disconnect();
      await ended;
      expect(connection.status).toBe('end');
      await expect(queued).rejects.toThrow('Connection is closed');
    } finally {
      await closeRedis(connection);
      await redis.start();
    }
  });

  it('still reconnects after disconnect(true)', async () => {
    const connection = createRedis(redis.url, { role: 'worker', name: 'reconnect' }) as Redis;
    try {
      await once(connection, 'ready');
      connection.disconnect(true);
      await once(connection, 'ready');
      expect(await connection.ping()).toBe('PONG');
    } finally {
      await closeRedis(connection);
    }
  });
});

describe('a BullMQ worker that is closing', () => {
  // patches/bullmq: BullMQ retries a command that failed on the connection, with no delay while the worker is closing
  // and no limit. After close(true) with Redis down the connection is ended, each retry fails at once, and the loop spun
  // in microtasks for ever: the event loop starved and close() never ended (workers/test/ready.int.test.ts hung so).
  it('stops retrying a command that failed on the connection', async () => {
    const redis = await PrivateRedis.start();
    const connection = createRedis(redis.url, { role: 'worker', name: 'closing' });
    const worker = new Worker('closing', async () => {}, { connection, prefix: 'jt-closing', autorun: false });
    try {
      await worker.close(true);
      const retrying = worker as unknown as { retryIfFailed(fn: () => Promise<unknown>, opts: { delayInMs: number; maxRetries: number }): Promise<unknown> };
      let calls = 0;
      const failing = () => {
        calls += 1;
        return Promise.reject(new Error('Connection is closed.'));
      };
      await expect(retrying.retryIfFailed(failing, { delayInMs: 10, maxRetries: 1000 })).rejects.toThrow('Connection is closed.');
      expect(calls).toBe(1);
    } finally {
      await closeRedis(connection);
      await redis.stop();
    }
  });
});
