import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../common/auth.ts';
import { listen, type Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { QueueSet } from '../../common/queues.ts';
import { notificationEventsQueue, notificationsQueue } from '../../subgraphs/notifications/module.ts';
import { ordersQueue } from '../../subgraphs/orders/module.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import { backupsQueue } from '../backup/queue.ts';
import { WORKER_QUEUES } from '../queues.ts';
import { createWorkersApp, type WorkersApp } from '../http.ts';
import { startTestIdentity, type TestIdentity } from '../../test/support/identity.ts';

const prefix = `jt-http-${randomUUID().slice(0, 8)}`;
let producer: ReturnType<typeof createRedis>;
let queues: QueueSet;
let web: WorkersApp;
let http: Listening;
let databaseUp = true;
let idp: TestIdentity;
let admin: Record<string, string>;

beforeAll(async () => {
  idp = await startTestIdentity();
  admin = await idp.headers(randomUUID(), ['admin']);
  const auth = createAuthenticator({ ...idp.env, AUTH_USER_CLAIM: 'sub', AUTH_ROLES_CLAIM: 'roles' });
  producer = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { role: 'producer' });
  await new Promise((resolve) => producer.once('ready', resolve));
  queues = new QueueSet(producer, prefix);
  web = createWorkersApp({
    queues: queues.only(WORKER_QUEUES),
    logger: createLogger('workers', 'silent'),
    auth,
    health: () => ({ redis: producer.status }),
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
  await idp.close();
});

describe('workers HTTP', () => {
  it('answers /health with the queues and connection state', async () => {
    const response = await fetch(`${http.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: 'ok',
      service: 'workers',
      redis: 'ready',
      queues: expect.arrayContaining([ordersQueue.name, notificationsQueue.name]),
    });
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

  it("exports each queue's job counts by state on /metrics", async () => {
    await queues.get(ordersQueue.name).add('process', { orderId: 'x' }, { jobId: randomUUID() });
    await queues.get(ordersQueue.name).add('process', { orderId: 'y' }, { jobId: randomUUID(), delay: 60_000 });
    const text = await (await fetch(`${http.url}/metrics`)).text();
    expect(text).toContain(`junction_queue_jobs{prefix="${prefix}",queue="orders",state="waiting"} 1`);
    expect(text).toContain(`junction_queue_jobs{prefix="${prefix}",queue="orders",state="delayed"} 1`);
    expect(text).toContain(`junction_queue_jobs{prefix="${prefix}",queue="notifications",state="failed"} 0`);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('serves Bull Board at /admin/queues with every queue to an admin', async () => {
    const page = await fetch(`${http.url}/admin/queues`, { headers: admin });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const api = await fetch(`${http.url}/admin/queues/api/queues`, { headers: admin });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual([notificationEventsQueue.name, notificationsQueue.name, ordersQueue.name, backupsQueue.name].sort());
  });

  it('refuses Bull Board and anything under /admin to anonymous callers (401) and users (403)', async () => {
    const user = await idp.headers(randomUUID());
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/api/queues/orders/retry/failed', '/admin/anything']) {
      const anonymous = await fetch(`${http.url}${path}`);
      expect(anonymous.status, path).toBe(401);
      expect(((await anonymous.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect((await fetch(`${http.url}${path}`, { headers: { authorization: 'Bearer forged' } })).status, path).toBe(401);
      const forbidden = await fetch(`${http.url}${path}`, { headers: user });
      expect(forbidden.status, path).toBe(403);
      await forbidden.body?.cancel();
    }
    // A retry action is refused too, so it retries nothing.
    expect((await fetch(`${http.url}/admin/queues/api/queues/orders/retry/failed`, { method: 'PUT', headers: user })).status).toBe(403);
  });

  it('opens Bull Board in a browser after /admin/login with the admin token (HttpOnly cookie)', async () => {
    const login = await fetch(`${http.url}/admin/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: admin.authorization!.slice('Bearer '.length) }),
      redirect: 'manual',
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/admin/queues');
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${http.url}/admin/queues`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const api = await fetch(`${http.url}/admin/queues/api/queues`, { headers: { cookie } });
    expect(api.status).toBe(200);
  });
});
