import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../scripts/settings.ts';
import { listen } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { createGateway } from '../../gateway/server.ts';
import { PrivateRedis } from '../support/orders.ts';
import { spawnGateway } from '../support/processes.ts';
import { metric } from '../support/metrics.ts';

const SHARED_REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Answer {
  status: number;
  ms: number;
  body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** An APQ request as Apollo Client's persisted query link sends it: the hash alone, or the hash with the text (registration). */
async function apq(url: string, query: string, withText: boolean): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...(withText ? { query } : {}), extensions: { persistedQuery: { version: 1, sha256Hash: sha256(query) } } }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'], ms: performance.now() - started };
}

const notFound = { errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] };

async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(SHARED_REDIS);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

describe('automatic persisted queries in Redis', () => {
  it('a hash registered on one gateway process is known to a second one on the same Redis, for APQ_TTL_SECONDS, also by GET', async () => {
    const prefix = `jt-apq-${randomUUID().slice(0, 8)}`;
    const env = { NODE_ENV: 'test', REDIS_URL: SHARED_REDIS, QUEUE_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '0', APQ_TTL_SECONDS: '120' };
    cleanups.push(() => dropKeys(prefix));
    // One after the other: each gets the whole start budget of a busy machine to itself.
    const a = await spawnGateway(env);
    cleanups.push(() => a.stop());
    const b = await spawnGateway(env);
    cleanups.push(() => b.stop());
    // Answered by the gateway itself: no subgraph needs to run.
    const query = `query Replicas { __typename alias: __typename }`;

    expect((await apq(b.url, query, false)).body).toEqual(notFound);
    const registered = await apq(a.url, query, true);
    expect(registered).toMatchObject({ status: 200, body: { data: { __typename: 'Query', alias: 'Query' } } });
    await expect.poll(async () => (await apq(b.url, query, false)).status, { timeout: 5000, message: 'the second gateway knows the hash' }).toBe(200);
    expect((await apq(b.url, query, false)).body).toEqual({ data: { __typename: 'Query', alias: 'Query' } });

    const extensions = encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(query) } }));
    const get = await fetch(`${b.url}?operationName=Replicas&extensions=${extensions}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { __typename: 'Query', alias: 'Query' } });

    const redis = new Redis(SHARED_REDIS);
    try {
      const key = `${prefix}:apq:${sha256(query)}`;
      expect(await redis.get(key)).toBe(query);
      const ttl = await redis.ttl(key);
      expect(ttl > 100 && ttl <= 120).toBe(true);
    } finally {
      redis.disconnect();
    }
  }, 180_000);

  it('while Redis is down or frozen, a hash is PERSISTED_QUERY_NOT_FOUND at once and the text still runs; once Redis is back APQ works again', async () => {
    const redis = await PrivateRedis.start();
    cleanups.push(() => redis.stop());
    const config = parseConfig({ NODE_ENV: 'test', REDIS_URL: redis.url, QUEUE_PREFIX: 'jt-apq-down', RATE_LIMIT_PER_MINUTE: '0' });
    const gateway = await createGateway({ config, logger: createLogger('door-apq', 'silent') });
    const http = await listen(gateway.app, 0);
    cleanups.push(async () => {
      await http.close();
      await gateway.close();
    });
    const url = `${http.url}/graphql`;
    const query = `query Down { __typename }`;
    const data = { data: { __typename: 'Query' } };

    await expect
      .poll(async () => [(await apq(url, query, true)).status, (await apq(url, query, false)).status], {
        timeout: 10_000,
        message: 'APQ works on the private Redis',
      })
      .toEqual([200, 200]);
    expect((await apq(url, query, false)).body).toEqual(data);

    await redis.stop();
    const lookup = await apq(url, query, false);
    expect(lookup.body).toEqual(notFound);
    expect(lookup.status).toBeLessThan(500);
    expect(lookup.ms).toBeLessThan(1000);
    // What the client does next: the text with the hash runs, and so does plain text.
    expect(await apq(url, query, true)).toMatchObject({ status: 200, body: data });
    const plain = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(plain.status).toBe(200);
    expect(await metric(http.url, 'junction_gateway_apq_cache_unavailable_total')).toBeGreaterThanOrEqual(2);

    await redis.start();
    await expect
      .poll(async () => [(await apq(url, query, true)).status, (await apq(url, query, false)).status], {
        timeout: 15_000,
        message: 'APQ works again once Redis is back',
      })
      .toEqual([200, 200]);

    // A Redis that takes the connection but answers nothing: each command gives up after its timeout.
    redis.freeze();
    try {
      // The hash is in Redis, but Redis does not answer: a miss.
      const frozen = await apq(url, query, false);
      expect(frozen.body).toEqual(notFound);
      expect(frozen.ms).toBeLessThan(2000);
      const text = await apq(url, query, true);
      expect(text).toMatchObject({ status: 200, body: data });
      expect(text.ms).toBeLessThan(2000);
    } finally {
      redis.thaw();
    }
  }, 60_000);
});
