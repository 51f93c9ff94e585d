import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backoffWaitMs, BACKOFF_JITTER, isOpenBreakerError } from '../breaker.ts';
import { parseConfig } from '../../scripts/settings.ts';
import { createLogger } from '../logger.ts';
import { registry } from '../metrics.ts';
import { Partner } from '../partner.ts';
import { next } from '../../test/support/breaker.ts';
import { startScriptedPartner, type ScriptedPartner } from '../../test/support/partner-server.ts';
import { metric } from '../../test/support/metrics.ts';

let partner: ScriptedPartner;
const made: Partner[] = [];
let seq = 0;

beforeAll(async () => {
  partner = await startScriptedPartner();
});

afterEach(async () => {
  for (const p of made.splice(0)) await p.close();
  partner.calls.length = 0;
  partner.script();
  partner.answer({ status: 200, json: {} });
});

afterAll(async () => {
  await partner?.close();
});

/** A partner client whose breaker opens on its first failure (volume threshold 1), with no retries inside a call. */
function make(env: Record<string, string>): Partner {
  const p = new Partner({
    name: `backoff-${++seq}`,
    baseUrl: partner.url,
    config: parseConfig({ BREAKER_VOLUME_THRESHOLD: '1', ...env }),
    logger: createLogger('test', 'silent'),
    attemptTimeoutMs: 2000,
    retryDelaysMs: [],
  });
  made.push(p);
  return p;
}

async function failed(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

const get = (p: Partner) => p.request({ method: 'GET', path: '/thing' });

describe('backoffWaitMs', () => {
  const config = { BREAKER_RESET_TIMEOUT_MS: 1000, BREAKER_MAX_RESET_TIMEOUT_MS: 60_000 };

  it('doubles the reset timeout per failed trial up to the max; no jitter taken, exactly', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffWaitMs(config, n, () => 0))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });

  it('takes at most BACKOFF_JITTER of the wait off at random, never below the reset timeout, never above the max', () => {
    const most = () => 0.999_999;
    expect(backoffWaitMs(config, 0, most)).toBe(1000);
    expect(backoffWaitMs(config, 1, most)).toBe(Math.round(2000 * (1 - BACKOFF_JITTER * 0.999_999)));
    expect(backoffWaitMs(config, 10, most)).toBe(Math.round(60_000 * (1 - BACKOFF_JITTER * 0.999_999)));
    expect(backoffWaitMs({ BREAKER_RESET_TIMEOUT_MS: 1000, BREAKER_MAX_RESET_TIMEOUT_MS: 1000 }, 3, most)).toBe(1000);
    for (let n = 1; n < 12; n++) {
      const wait = backoffWaitMs(config, n);
      const nominal = Math.min(60_000, 1000 * 2 ** n);
      expect(wait).toBeGreaterThanOrEqual(Math.floor(nominal * (1 - BACKOFF_JITTER)));
      expect(wait).toBeLessThanOrEqual(nominal);
    }
  });
});

describe('Breaker: backing off a partner that stays down', () => {
  it('each failed half-open trial doubles the wait (with jitter) up to BREAKER_MAX_RESET_TIMEOUT_MS; a success brings it back to BREAKER_RESET_TIMEOUT_MS', async () => {
    partner.answer({ status: 503 });
    const p = make({ BREAKER_RESET_TIMEOUT_MS: '200', BREAKER_MAX_RESET_TIMEOUT_MS: '1000' });
    const { breaker } = p;
    expect(breaker.resetTimeoutMs).toBe(200);

    const opened = next(breaker, 'open', 5000);
    await failed(get(p));
    let openedAt = await opened;
    expect(breaker.state).toBe('OPEN');
    const waits = [breaker.resetTimeoutMs];
    expect(waits[0]).toBe(200);
    expect(breaker.failedTrials).toBe(0);

    for (let trial = 1; trial <= 5; trial++) {
      // Fails fast while open: no call reaches the partner.
      const callsBefore = partner.calls.length;
      expect(isOpenBreakerError(await failed(get(p)))).toBe(true);
      expect(partner.calls).toHaveLength(callsBefore);

      const halfOpenAt = await next(breaker, 'halfOpen', 10_000);
      // Never sooner than the wait in force (a loaded machine may make it later: no upper bound).
      expect(halfOpenAt - openedAt).toBeGreaterThanOrEqual(waits.at(-1)! - 5);
      const reopened = next(breaker, 'open', 5000);
      const trialAt = Date.now();
      await failed(get(p)); // the trial call: the partner is still down
      openedAt = await reopened;
      expect(partner.calls).toHaveLength(callsBefore + 1);
      expect(breaker.failedTrials).toBe(trial);
      const wait = breaker.resetTimeoutMs;
      const nominal = Math.min(1000, 200 * 2 ** trial);
      expect(wait).toBeGreaterThanOrEqual(Math.floor(nominal * (1 - BACKOFF_JITTER)));
      expect(wait).toBeLessThanOrEqual(nominal);
      // The wait in force is what retryAfter counts down from, starting when the breaker opened again: after the
      // trial call was made and before this test heard of it (bounds from the clock's readings, no slack needed).
      expect(breaker.msUntilHalfOpen(trialAt)).toBeGreaterThanOrEqual(wait);
      expect(breaker.msUntilHalfOpen(openedAt)).toBeLessThanOrEqual(wait);
      expect(breaker.unavailable('down').extensions.retryAfter).toBe(Math.max(1, Math.ceil(breaker.msUntilHalfOpen() / 1000)));
      waits.push(wait);
    }
    // 200, then 320..400, 640..800, then capped at 800..1000.
    for (let i = 1; i < waits.length; i++) {
      if (waits[i - 1]! * 2 <= 1000) expect(waits[i]).toBeGreaterThanOrEqual(waits[i - 1]! * 1.5);
    }
    expect(Math.max(...waits)).toBeLessThanOrEqual(1000);

    // The partner is back: the next trial succeeds, the breaker closes and its wait is the reset timeout again.
    partner.answer({ status: 200, json: { ok: true } });
    await next(breaker, 'halfOpen', 10_000);
    expect((await get(p)).body).toEqual({ ok: true });
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.resetTimeoutMs).toBe(200);
    expect(breaker.failedTrials).toBe(0);

    // Down again: it opens for the reset timeout, not for the backed-off wait of the last outage.
    partner.answer({ status: 503 });
    const again = next(breaker, 'open', 5000);
    await failed(get(p));
    const againAt = await again;
    expect(breaker.resetTimeoutMs).toBe(200);
    const halfOpenAt = await next(breaker, 'halfOpen', 10_000);
    expect(halfOpenAt - againAt).toBeGreaterThanOrEqual(195);
  });

  it('serves the wait in force and the failed trials on /metrics', async () => {
    partner.answer({ status: 503 });
    const p = make({ BREAKER_RESET_TIMEOUT_MS: '100', BREAKER_MAX_RESET_TIMEOUT_MS: '5000' });
    const value = (name: string) => metric(registry, name, { breaker: p.breaker.name });
    expect(await value('circuit_breaker_reset_timeout_seconds')).toBe(0.1);
    expect(await value('circuit_breaker_failed_trials')).toBe(0);

    await failed(get(p));
    for (let trial = 1; trial <= 2; trial++) {
      await next(p.breaker, 'halfOpen', 10_000);
      await failed(get(p));
    }
    expect(p.breaker.failedTrials).toBe(2);
    expect(await value('circuit_breaker_reset_timeout_seconds')).toBe(p.breaker.resetTimeoutMs / 1000);
    expect(p.breaker.resetTimeoutMs).toBeGreaterThanOrEqual(320);
    expect(await value('circuit_breaker_failed_trials')).toBe(2);

    partner.answer({ status: 200, json: {} });
    await next(p.breaker, 'halfOpen', 10_000);
    await get(p);
    expect(await value('circuit_breaker_reset_timeout_seconds')).toBe(0.1);
    expect(await value('circuit_breaker_failed_trials')).toBe(0);
  });
});
