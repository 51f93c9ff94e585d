import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { registry } from '../../common/metrics.ts';
import { dropKeys, freePort } from '../../test/support/orders.ts';
import { createViewerCap } from '../subscriptions/viewer-cap.ts';

const logger = createLogger('viewer-cap', 'silent');
const SHARED_REDIS = 'redis://127.0.0.1:6379';

async function fallbacks(): Promise<number> {
  const metric = await registry.getSingleMetric('junction_gateway_subscription_cap_fallbacks_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('SUBSCRIPTIONS_PER_VIEWER across processes (gateway/subscriptions/viewer-cap.ts)', () => {
  it('counts a viewer’s places in Redis for every process on it, and frees one on release', async () => {
    const settings = { REDIS_URL: SHARED_REDIS, QUEUE_PREFIX: `jt-cap-${randomUUID().slice(0, 8)}`, SUBSCRIPTIONS_PER_VIEWER: 2 };
    const [a, b] = [createViewerCap(settings, logger), createViewerCap(settings, logger)];
    try {
      const first = await a.take('v1');
      const second = await b.take('v1');
      expect(first).not.toBeNull();
      expect(second).not.toBeNull();
      expect(await a.take('v1')).toBeNull();
      expect(await b.take('v1')).toBeNull();
      // Another viewer has places of their own.
      expect(await a.take('v2')).not.toBeNull();
      second!.release();
      await expect.poll(async () => (await b.take('v1')) !== null, { timeout: 5000 }).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await dropKeys(SHARED_REDIS, `${settings.QUEUE_PREFIX}:*`);
    }
  });

  it('while Redis cannot be reached, admits by the process’s own count and says so on /metrics, failing nothing', async () => {
    const settings = { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, QUEUE_PREFIX: 'jt-cap-down', SUBSCRIPTIONS_PER_VIEWER: 2 };
    const cap = createViewerCap(settings, logger);
    try {
      const before = await fallbacks();
      const places = [await cap.take('v1'), await cap.take('v1')];
      expect(places.every((place) => place !== null)).toBe(true);
      expect(await cap.take('v1')).toBeNull();
      places[0]!.release();
      expect(await cap.take('v1')).not.toBeNull();
      expect(await fallbacks()).toBeGreaterThanOrEqual(before + 4);
    } finally {
      await cap.close();
    }
  });
});
