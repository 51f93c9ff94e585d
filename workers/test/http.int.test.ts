import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { QueueSet, QUEUES } from '../../common/queues.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import { createWorkersApp, type WorkersApp } from '../http.ts';

const prefix = `jt-http-${randomUUID().slice(0, 8)}`;
let producer: ReturnType<typeof createRedis>;
let queues: QueueSet;
let web: WorkersApp;
let http: Listening;
let databaseUp = true;

beforeAll(async () => {
  producer = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { role: 'producer' });
  await new Promise((resolve) => producer.once('ready', resolve));
  queues = new QueueSet(producer, prefix);
  web = createWorkersApp({ queues: queues.all(), logger: createLogger('workers', 'silent'), health: () => ({ redis: producer.status }),
    ready: async () => ({ ready: databaseUp, database: databaseUp ? 'up' : 'down' }),
  });
  http = await listen(web.app, 0);
});

afterAll(async () => {
  web.close();
  await http.close();
  for (const queue of queues.all()) await queue.obliterate({ force: true });
  await queues.close();
  await closeRedis(producer);
});

describe('workers HTTP', () => {
  it('answers /health with the queues and connection state', async () => {
    const response = await fetch(`${http.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', service: 'workers', redis: 'ready', queues: expect.arrayContaining([QUEUES.orders, QUEUES.notifications]) });
  });

  it('answers /ready 200 while its dependencies answer and 503 naming the one that does not', async () => {
    const up = await fetch(`${http.url}/ready`);
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ status: 'ready', service: 'workers', database: 'up' });
    databaseUp = false;
    try {
      const down = await fetch(`${http.url}/ready`);
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'unavailable', database: 'down' });
    } finally {
      databaseUp = true;
    }
  });

  it('exports each queue\'s job counts by state on /metrics', async () => {
    await queues.get(QUEUES.orders).add('process', { orderId: 'x' }, { jobId: randomUUID() });
    await queues.get(QUEUES.orders).add('process', { orderId: 'y' }, { jobId: randomUUID(), delay: 60_000 });
    const text = await (await fetch(`${http.url}/metrics`)).text();
    expect(text).toContain(`junction_queue_jobs{prefix="${prefix}",queue="orders",state="waiting"} 1`);
    expect(text).toContain(`junction_queue_jobs{prefix="${prefix}",queue="orders",state="delayed"} 1`);
    expect(text).toContain(`junction_queue_jobs{prefix="${prefix}",queue="notifications",state="failed"} 0`);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('serves Bull Board at /admin/queues with every queue', async () => {
    const page = await fetch(`${http.url}/admin/queues`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const api = await fetch(`${http.url}/admin/queues/api/queues`);
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual([QUEUES.notificationEvents, QUEUES.notifications, QUEUES.orders].sort());
  });
});
