import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../scripts/settings.ts';
import { listen } from '../../common/http.ts';
import { startTestIdentity } from '../../test/support/identity.ts';
import { freePort, PrivateRedis } from '../../test/support/orders.ts';
import { spawnGateway } from '../../test/support/processes.ts';
import { RATE_LIMIT_REDIS_TIMEOUT_MS } from '../rate-limit.ts';
import { createGateway } from '../server.ts';
import { metric } from '../../test/support/metrics.ts';

const SHARED_REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

/** A real gateway on a free port; `{ __typename }` is answered by the gateway itself, so no subgraph has to run. */
async function startGateway(env: Record<string, string>) {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  const gateway = await createGateway({ config: parseConfig({ NODE_ENV: 'test', ...env }), logger });
  const http = await listen(gateway.app, 0);
  cleanups.push(async () => {
    await http.close();
    await gateway.close();
  });
  return { base: http.url, port: http.port, logs: lines };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  ms: number;
}

/** POSTs `{ __typename }` to a gateway from the local address `from` (any 127.x.y.z is this machine). */
function ask(port: number, from = '127.0.0.1', headers: Record<string, string> = {}): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port,
      path: '/graphql',
      method: 'POST',
      localAddress: from,
      headers: { 'content-type': 'application/json', ...headers },
    };
    const req = request(options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text), ms: Date.now() - started }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ query: '{ __typename }' }));
  });
}

/** Removes a test's rate limit counters from the shared Redis. */
async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(SHARED_REDIS);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

describe('RATE_LIMIT_PER_MINUTE', () => {
  it('is shared by two gateways on one Redis: the 6th request of a minute from one client is 429 RATE_LIMITED with Retry-After', async () => {
    const prefix = `jt-rate-${randomUUID().slice(0, 8)}`;
    const env = { REDIS_URL: SHARED_REDIS, QUEUE_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '5' };
    const [a, b] = [await startGateway(env), await startGateway(env)];
    const redis = new Redis(SHARED_REDIS);
    cleanups.push(async () => {
      redis.disconnect();
      await dropKeys(prefix);
    });

    const passed = [await ask(a.port), await ask(b.port), await ask(a.port), await ask(b.port), await ask(a.port)];
    expect(passed.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect(passed[0]!.body.data).toEqual({ __typename: 'Query' });

    for (const gateway of [a, b]) {
      const refused = await ask(gateway.port);
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers['retry-after']);
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
      expect(refused.body).toEqual({
        errors: [{ message: expect.stringContaining('Too many requests'), extensions: { code: 'RATE_LIMITED', retryAfter, limitPerMinute: 5 } }],
      });
    }
    expect(await metric(a.base, 'junction_gateway_rate_limited_total')).toBeGreaterThanOrEqual(2);

    // Another client address has its own allowance.
    expect((await ask(a.port, '127.0.0.2')).status).toBe(200);
    // The counters live in Redis under the stack's prefix, so test stacks never share them.
    expect((await redis.keys(`${prefix}:rate-limit:*`)).length).toBe(2);
  });

  it('is shared by two gateway processes on one Redis', async () => {
    const prefix = `jt-rate-${randomUUID().slice(0, 8)}`;
    const env = { NODE_ENV: 'test', REDIS_URL: SHARED_REDIS, QUEUE_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '4' };
    const gateways = await Promise.all([spawnGateway(env), spawnGateway(env)]);
    cleanups.push(async () => {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
      await dropKeys(prefix);
    });
    const [a, b] = gateways.map((gateway) => Number(new URL(gateway.url).port)) as [number, number];
    const statuses = [];
    for (const port of [a, b, a, b, a, b]) statuses.push((await ask(port)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  }, 150_000);

  it('counts per signed-in viewer whatever their address, and anonymous callers per address', async () => {
    const identity = await startTestIdentity();
    cleanups.push(() => identity.close());
    const prefix = `jt-rate-${randomUUID().slice(0, 8)}`;
    const gateway = await startGateway({ ...identity.env, REDIS_URL: SHARED_REDIS, QUEUE_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '3' });
    cleanups.push(() => dropKeys(prefix));
    const [ada, grace] = [await identity.headers(randomUUID()), await identity.headers(randomUUID())];

    const statuses = async (from: string, headers: Record<string, string>, n: number) => {
      const result = [];
      for (let i = 0; i < n; i++) result.push((await ask(gateway.port, from, headers)).status);
      return result;
    };
    expect(await statuses('127.0.0.1', ada, 2)).toEqual([200, 200]);
    expect(await statuses('127.0.0.2', ada, 2)).toEqual([200, 429]);
    // Another viewer on the same address, and anonymous callers there, have allowances of their own.
    expect(await statuses('127.0.0.1', grace, 3)).toEqual([200, 200, 200]);
    expect(await statuses('127.0.0.1', {}, 4)).toEqual([200, 200, 200, 429]);
    expect(await statuses('127.0.0.3', {}, 1)).toEqual([200]);
    // Every request was counted (none let through unchecked).
    expect(gateway.logs.filter((line) => String(line.msg).startsWith('rate limit not enforced'))).toEqual([]);
  });

  it('while Redis is down requests pass at once, a metric counts them and a warning says so; once Redis is back the limit holds again', async () => {
    const privateRedis = await PrivateRedis.start();
    cleanups.push(() => privateRedis.stop());
    const gateway = await startGateway({ REDIS_URL: privateRedis.url, QUEUE_PREFIX: 'jt-rate-down', RATE_LIMIT_PER_MINUTE: '2' });

    expect((await ask(gateway.port)).status).toBe(200);
    expect((await ask(gateway.port)).status).toBe(200);
    expect((await ask(gateway.port)).status).toBe(429);

    await privateRedis.stop();
    const before = await metric(gateway.base, 'junction_gateway_rate_limit_unavailable_total');
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await ask(gateway.port));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(1000);
    expect((await metric(gateway.base, 'junction_gateway_rate_limit_unavailable_total')) - before).toBe(5);
    expect(gateway.logs.some((line) => line.msg === 'rate limit not enforced: Redis unreachable, letting requests through')).toBe(true);

    // Back (empty: the private Redis keeps nothing): the gateway reconnects and counts again.
    await privateRedis.start();
    await expect.poll(async () => (await ask(gateway.port)).status, { timeout: 10_000 }).toBe(429);
  });

  it('a frozen Redis (SIGSTOP) holds no request up for longer than the command timeout', async () => {
    const privateRedis = await PrivateRedis.start();
    cleanups.push(async () => {
      privateRedis.thaw();
      await privateRedis.stop();
    });
    const gateway = await startGateway({ REDIS_URL: privateRedis.url, QUEUE_PREFIX: 'jt-rate-frozen', RATE_LIMIT_PER_MINUTE: '100' });
    expect((await ask(gateway.port)).status).toBe(200);

    privateRedis.freeze();
    const before = await metric(gateway.base, 'junction_gateway_rate_limit_unavailable_total');
    const answers = await Promise.all(Array.from({ length: 3 }, () => ask(gateway.port)));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(RATE_LIMIT_REDIS_TIMEOUT_MS + 1000);
    expect((await metric(gateway.base, 'junction_gateway_rate_limit_unavailable_total')) - before).toBe(3);
  });

  it('0 turns it off: no Redis connection, no limit', async () => {
    // Nothing listens on this port: were the limiter on, every request would be let through unchecked and counted.
    const gateway = await startGateway({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, RATE_LIMIT_PER_MINUTE: '0' });
    const before = await metric(gateway.base, 'junction_gateway_rate_limit_unavailable_total');
    const answers = await Promise.all(Array.from({ length: 30 }, () => ask(gateway.port)));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(await metric(gateway.base, 'junction_gateway_rate_limit_unavailable_total')).toBe(before);
  });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});
