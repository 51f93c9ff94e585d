import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../common/auth.ts';
import { parseConfig } from '../../scripts/settings.ts';
import { listen, type Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.ts';
import { freePort, PrivateRedis } from '../../test/support/orders.ts';
import { createWorkersApp } from '../http.ts';
import { startWorkers, type RunningWorkers } from '../index.ts';
import { WORKER_QUEUES } from '../queues.ts';

const logger = createLogger('workers-ready', 'silent');

/** The workers process as workers/index.ts runs it, on a free port. */
async function serve(env: Record<string, string>): Promise<{ workers: RunningWorkers; http: Listening; close(): Promise<void> }> {
  const config = parseConfig({ NODE_ENV: 'test', QUEUE_PREFIX: `jt-ready-${randomUUID().slice(0, 8)}`, ...env });
  const workers = await startWorkers(config, logger);
  const web = createWorkersApp({
    queues: workers.queues.only(WORKER_QUEUES),
    logger,
    auth: createAuthenticator(config),
    health: workers.health,
    ready: () => workers.ready(),
  });
  const http = await listen(web.app, 0);
  return {
    workers,
    http,
    async close() {
      await http.close();
      web.close();
      await workers.close();
    },
  };
}

async function ready(http: Listening): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${http.url}/ready`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('workers /ready', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  beforeAll(async () => {
    db = await createTestDatabase('workers-ready');
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    await redis?.stop();
    await db?.drop();
  });

  // Quick alone (under a second). This test hung in CI for its whole 180 s: when close() came while a BullMQ worker's
  // blocking connection still waited to reconnect (a loaded machine reconnects it later than the connection /ready
  // reads), Worker.close() waited for ever for an "end" event ioredis never sent. patches/ioredis ends such a connection.
  it('is 200 while PostgreSQL and Redis answer, 503 naming Redis while it is down, 200 again once it is back', async () => {
    const running = await serve({ DATABASE_URL: db.url, REDIS_URL: redis.url });
    try {
      await expect.poll(async () => (await ready(running.http)).status, { timeout: 30_000 }).toBe(200);
      expect((await ready(running.http)).body).toMatchObject({ status: 'ready', service: 'workers', redis: 'ready', database: 'up', down: [] });
      await redis.stop();
      await expect.poll(async () => (await ready(running.http)).status, { timeout: 30_000 }).toBe(503);
      expect((await ready(running.http)).body).toMatchObject({ status: 'unavailable', database: 'up', down: ['redis'] });
      // /health stays 200: the process is alive, only not ready.
      expect((await fetch(`${running.http.url}/health`)).status).toBe(200);
      await redis.start();
      await expect.poll(async () => (await ready(running.http)).status, { timeout: 30_000 }).toBe(200);
    } finally {
      await running.close();
    }
  }, 60_000);

  // A SIGTERM during a Redis outage: every BullMQ worker's blocking connection is waiting to reconnect, and close()
  // must still end (it hung for ever before patches/ioredis, leaving Kubernetes to SIGKILL the pod).
  it('closes while Redis is down', async () => {
    const own = await PrivateRedis.start();
    const running = await serve({ DATABASE_URL: db.url, REDIS_URL: own.url });
    try {
      await expect.poll(async () => (await ready(running.http)).status, { timeout: 30_000 }).toBe(200);
      await own.stop();
      await expect.poll(async () => (await ready(running.http)).body.redis, { timeout: 30_000 }).toBe('reconnecting');
    } finally {
      await running.close();
      await own.stop();
    }
    expect(running.workers.health()).toEqual({ redis: 'end', producer: 'end' });
  });

  it('is 503 naming PostgreSQL when the database cannot be reached', async () => {
    const running = await serve({ DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, REDIS_URL: redis.url });
    try {
      await expect.poll(async () => (await ready(running.http)).body.redis, { timeout: 10_000 }).toBe('ready');
      expect(await ready(running.http)).toMatchObject({ status: 503, body: { status: 'unavailable', database: 'down', down: ['postgresql'] } });
    } finally {
      await running.close();
    }
  });
});
