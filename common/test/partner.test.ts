import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isOpenBreakerError } from '../breaker.ts';
import { parseConfig } from '../../scripts/settings.ts';
import { createApp, listen } from '../http.ts';
import { createLogger } from '../logger.ts';
import { metricsRoute } from '../metrics.ts';
import { isClientError, Partner, statusOf, type PartnerOptions } from '../partner.ts';
import { gaps, startScriptedPartner, type ScriptedPartner } from '../../test/support/partner-server.ts';

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

const config = parseConfig({ BREAKER_RESET_TIMEOUT_MS: '400', BREAKER_VOLUME_THRESHOLD: '5', BREAKER_ERROR_THRESHOLD_PERCENT: '50' });

function make(options: Partial<PartnerOptions> = {}): Partner {
  const p = new Partner({
    name: `test-partner-${++seq}`,
    baseUrl: partner.url,
    config,
    logger: createLogger('test', 'silent'),
    attemptTimeoutMs: 500,
    ...options,
  });
  made.push(p);
  return p;
}

const get = (p: Partner, path = '/thing') => p.request<{ ok?: boolean }>({ method: 'GET', path });

/** The rejection of a promise that must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('Partner: retries', () => {
  it('retries two 503s after 100 ms and 200 ms, then returns the answer', async () => {
    partner.script({ status: 503 }, { status: 503 }, { status: 200, json: { ok: true } });
    const response = await get(make());
    expect(response).toEqual({ status: 200, body: { ok: true } });
    expect(partner.calls).toHaveLength(3);
    const [first, second] = gaps(partner.calls);
    expect(first).toBeGreaterThanOrEqual(95);
    // Upper bounds show no backoff is added to the configured delays; loose, for a loaded machine.
    expect(first).toBeLessThan(350);
    expect(second).toBeGreaterThanOrEqual(195);
    expect(second).toBeLessThan(450);
  });

  it('gives up after exactly three retries spaced 100, 200 and 400 ms', async () => {
    partner.answer({ status: 503 });
    const error = await rejection(get(make()));
    expect(statusOf(error)).toBe(503);
    expect(partner.calls).toHaveLength(4);
    const spacing = gaps(partner.calls);
    expect(spacing[2]).toBeGreaterThanOrEqual(395);
    expect(spacing[2]).toBeLessThan(700);
  });

  it('retries 408, 429 (ignoring its Retry-After) and a reset connection after the fixed delays', async () => {
    partner.script({ status: 408 }, { status: 429, headers: { 'retry-after': '30' } }, 'reset', { status: 200, json: { ok: true } });
    const started = Date.now();
    expect((await get(make())).body).toEqual({ ok: true });
    expect(partner.calls).toHaveLength(4);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('answers a status listed in `answers` (404) without retrying and without counting it', async () => {
    partner.answer({ status: 404, json: { error: 'nothing known' } });
    const p = make({ answers: [404] });
    for (let i = 0; i < 6; i++) expect(await get(p)).toEqual({ status: 404, body: undefined });
    expect(partner.calls).toHaveLength(6);
    expect(p.breaker.state).toBe('CLOSED');
  });

  it('rejects other 4xx at once, and they do not trip the breaker', async () => {
    partner.answer({ status: 400, json: { error: 'bad' } });
    const p = make();
    for (let i = 0; i < 8; i++) expect(statusOf(await rejection(get(p)))).toBe(400);
    expect(partner.calls).toHaveLength(8);
    expect(p.breaker.state).toBe('CLOSED');
    expect(p.breaker.circuit.stats.failures).toBe(0);
  });
});

describe('Partner: attempts', () => {
  it('times out an attempt after attemptTimeoutMs and retries it', async () => {
    partner.script('hang', { status: 200, json: { ok: true } });
    expect((await get(make({ attemptTimeoutMs: 150 }))).body).toEqual({ ok: true });
    expect(partner.calls).toHaveLength(2);
    const [gap] = gaps(partner.calls);
    expect(gap).toBeGreaterThanOrEqual(240); // 150 ms timeout + the 100 ms delay
    expect(gap).toBeLessThan(400);
  });

  it('rejects an attempt that timed out with a TimeoutError (ETIMEDOUT, the message got gave)', async () => {
    partner.answer('hang');
    const error = await rejection(get(make({ attemptTimeoutMs: 100, retryDelaysMs: [], callTimeoutMs: 2000 })));
    expect(error).toMatchObject({ name: 'TimeoutError', code: 'ETIMEDOUT', message: "Timeout awaiting 'request' for 100ms" });
    expect(statusOf(error)).toBeUndefined();
  });

  it('retries a POST only when retryMethods allows it', async () => {
    partner.answer({ status: 503 });
    const post = (p: Partner) => p.request({ method: 'POST', path: '/events', json: { id: 1 } });
    expect(statusOf(await rejection(post(make({ retryDelaysMs: [10, 10] }))))).toBe(503);
    expect(partner.calls).toHaveLength(1);
    partner.calls.length = 0;
    expect(statusOf(await rejection(post(make({ retryDelaysMs: [10, 10], retryMethods: ['POST'] }))))).toBe(503);
    expect(partner.calls).toHaveLength(3);
  });

  it('rejects with the connection error when nothing listens (ECONNREFUSED), after the retries', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const started = Date.now();
    const error = await rejection(get(make({ baseUrl: `http://127.0.0.1:${port}`, retryDelaysMs: [50, 50] })));
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(statusOf(error)).toBeUndefined();
    expect(isClientError(error)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95); // both delays: it was retried
  });
});

describe('Partner: HTTP', () => {
  it('sends the JSON body as application/json with the caller headers, and parses the JSON answer', async () => {
    partner.script({ status: 201, json: { id: 'e1' } }, { status: 204 });
    const p = make({ baseUrl: `${partner.url}/v1/` });
    const created = await p.request({ method: 'POST', path: '/events', json: { id: 'e1', n: 2 }, headers: { 'idempotency-key': 'k1' } });
    expect(created).toEqual({ status: 201, body: { id: 'e1' } });
    expect(await p.request({ method: 'DELETE', path: '/events/e1' })).toEqual({ status: 204, body: undefined });
    const [post, del] = partner.calls;
    expect(post).toMatchObject({ method: 'POST', path: '/v1/events', body: '{"id":"e1","n":2}' });
    expect(post!.headers).toMatchObject({ 'content-type': 'application/json', 'idempotency-key': 'k1' });
    expect(del).toMatchObject({ method: 'DELETE', path: '/v1/events/e1', body: '' });
  });

  it('rejects a 4xx with an HTTPError naming the status, method and URL, whose answer stays out of logs', async () => {
    partner.answer({ status: 422, json: { error: 'bad' } });
    const error = await rejection(get(make()));
    expect(error).toMatchObject({ name: 'HTTPError', message: `Request failed with status code 422 (Unprocessable Entity): GET ${partner.url}/thing` });
    expect(statusOf(error)).toBe(422);
    expect(isClientError(error)).toBe(true);
    expect((error as { response: { body: string } }).response.body).toBe('{"error":"bad"}');
    expect(Object.keys(error as object)).not.toContain('response');
    partner.answer({ status: 429 });
    expect(isClientError(await rejection(get(make({ retryDelaysMs: [] }))))).toBe(false);
  });

  it('keeps its connections alive across calls and closes them in close()', async () => {
    const p = make();
    for (let i = 0; i < 6; i++) await get(p);
    // undici may open a second connection when a call follows the previous one at once; both are reused.
    const used = new Set(partner.calls.map((call) => call.remotePort)).size;
    expect(used).toBeLessThanOrEqual(2);
    expect(partner.connections()).toBe(used);
    await p.close();
    await p.close(); // safe twice
    await expect.poll(() => partner.connections(), { timeout: 5000 }).toBe(0);
  });
});

describe('Partner: circuit breaker', () => {
  it('opens after the volume threshold, fails fast without calling out, half-opens after the reset timeout and closes on success', async () => {
    partner.answer({ status: 503 });
    const p = make({ retryDelaysMs: [] });
    for (let i = 0; i < 4; i++) await rejection(get(p));
    expect(p.breaker.state).toBe('CLOSED'); // 4 calls: under the volume threshold
    await rejection(get(p));
    expect(p.breaker.state).toBe('OPEN');
    expect(partner.calls).toHaveLength(5);

    // Fails fast: rejected by the open breaker without calling out (no sixth call below).
    const rejected = await rejection(get(p));
    expect(isOpenBreakerError(rejected)).toBe(true);
    expect(partner.calls).toHaveLength(5);
    const unavailable = p.breaker.unavailable('partner down');
    expect(unavailable.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 1, circuitBreakerState: 'OPEN' });

    await expect.poll(() => p.breaker.state, { timeout: 10_000 }).toBe('HALF_OPEN');
    expect(p.breaker.state).toBe('HALF_OPEN');
    partner.answer({ status: 200, json: { ok: true } });
    expect((await get(p)).body).toEqual({ ok: true });
    expect(p.breaker.state).toBe('CLOSED');
    expect(partner.calls).toHaveLength(6);
  });

  it('lets one trial call through while half-open and opens again when it fails', async () => {
    partner.answer({ status: 503, delayMs: 50 });
    const p = make({ retryDelaysMs: [] });
    await Promise.all(Array.from({ length: 5 }, () => rejection(get(p))));
    expect(p.breaker.state).toBe('OPEN');
    await expect.poll(() => p.breaker.state, { timeout: 10_000 }).toBe('HALF_OPEN');
    partner.calls.length = 0;
    const [trial, ...others] = await Promise.all(Array.from({ length: 3 }, () => rejection(get(p))));
    expect(statusOf(trial)).toBe(503);
    expect(others.every(isOpenBreakerError)).toBe(true);
    expect(partner.calls).toHaveLength(1);
    expect(p.breaker.state).toBe('OPEN');
  });

  it('aborts the pending retries when the breaker gives up on a call', async () => {
    partner.answer({ status: 503 });
    // Attempts at 0 and ~100 ms; the breaker gives up at 250 ms, before the retry due at ~300 ms.
    const p = make({ callTimeoutMs: 250 });
    const error = await rejection(get(p));
    expect((error as { code?: string }).code).toBe('ETIMEDOUT');
    // Time passes on purpose: past the retry that was due at ~300 ms, which must not happen.
    await sleep(700);
    expect(partner.calls).toHaveLength(2);
  });

  it('aborts only the call it gave up on, not the others in flight', async () => {
    partner.script('hang', { status: 200, json: { ok: true } });
    const p = make({ callTimeoutMs: 300, retryDelaysMs: [] });
    const slow = rejection(get(p, '/slow'));
    await expect.poll(() => partner.calls.length).toBe(1); // the slow call is in flight
    const fast = get(p, '/fast');
    expect((await fast).body).toEqual({ ok: true });
    expect(((await slow) as { code?: string }).code).toBe('ETIMEDOUT');
    expect((await get(p)).status).toBe(200); // later calls are not aborted either
  });

  it('answers failed and rejected calls with the fallback', async () => {
    partner.answer({ status: 503 });
    const p = make({ retryDelaysMs: [] }).fallback(() => ({ status: 0, body: undefined }));
    for (let i = 0; i < 7; i++) expect((await get(p)).status).toBe(0);
    expect(partner.calls).toHaveLength(5);
    expect(p.breaker.circuit.stats.fallbacks).toBe(7);
  });
});

describe('Breaker observability', () => {
  it('logs each state change once, structured, with the breaker name', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    partner.answer({ status: 503 });
    const p = make({ retryDelaysMs: [], logger });
    for (let i = 0; i < 8; i++) await rejection(get(p));
    await expect.poll(() => p.breaker.state, { timeout: 10_000 }).toBe('HALF_OPEN');
    partner.answer({ status: 200, json: {} });
    await get(p);
    await get(p);
    const changes = lines.filter((line) => line.breaker === p.breaker.name).map((line) => line.state);
    expect(changes).toEqual(['OPEN', 'HALF_OPEN', 'CLOSED']);
  });

  it('serves state, fires, failures, rejects, fallbacks and latency on /metrics', async () => {
    partner.answer({ status: 503 });
    const p = make({ retryDelaysMs: [] });
    for (let i = 0; i < 7; i++) await rejection(get(p));
    const app = createApp();
    metricsRoute(app);
    const http = await listen(app, 0);
    try {
      const response = await fetch(`${http.url}/metrics`);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      const value = (metric: string) => Number(text.match(new RegExp(`^${metric}\\{[^}]*breaker="${p.breaker.name}"[^}]*\\} (\\S+)$`, 'm'))?.[1]);
      expect(value('circuit_breaker_state')).toBe(2);
      expect(value('circuit_breaker_fires_total')).toBe(7);
      expect(value('circuit_breaker_failures_total')).toBe(5);
      expect(value('circuit_breaker_rejects_total')).toBe(2);
      expect(value('circuit_breaker_fallbacks_total')).toBe(0);
      expect(value('circuit_breaker_latency_seconds_count')).toBe(5);
      expect(text).toContain('process_cpu_user_seconds_total');
    } finally {
      await http.close();
    }
  });
});
