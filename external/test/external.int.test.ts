import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BadTokenError, createAuthenticator } from '../../common/auth.ts';
import { listen, type Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { secondsUntilNextUtcDay } from '../backup.ts';
import { derivedProfile } from '../enrichment.ts';
import { createExternalApp } from '../server.ts';
import type { Delivery, ExternalState, RecordedCall } from '../state.ts';

let http: Listening;
let state: ExternalState;
let base: string;

beforeAll(async () => {
  const external = createExternalApp({ logger: createLogger('external', 'silent') });
  state = external.state;
  http = await listen(external.app, 0);
  base = http.url;
});

afterAll(async () => {
  await http?.close();
});

beforeEach(() => state.reset());

function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
}

const calls = async (service: string): Promise<RecordedCall[]> => (await send('GET', `/_calls?service=${service}`)).json() as Promise<RecordedCall[]>;

describe('identity provider', () => {
  const settings = () => ({
    AUTH_JWKS_URL: `${base}/.well-known/jwks.json`,
    AUTH_ISSUER: 'junction-dev',
    AUTH_AUDIENCE: 'junction',
    AUTH_USER_CLAIM: 'sub',
    AUTH_ROLES_CLAIM: 'roles',
  });

  it('serves its public key as a JWKS, and mints tokens that verify against it', async () => {
    const jwks = (await (await send('GET', '/.well-known/jwks.json')).json()) as { keys: { kty: string; alg: string; kid: string; d?: string }[] };
    expect(jwks.keys).toEqual([expect.objectContaining({ kty: 'EC', alg: 'ES256', kid: expect.any(String) })]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const minted = await send('POST', '/auth/token', { sub: 'u-1', roles: ['admin'], expiresIn: 60 });
    expect(minted.status).toBe(200);
    const body = (await minted.json()) as { token: string; tokenType: string; expiresIn: number };
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 60 });
    await expect(createAuthenticator(settings()).verify(body.token)).resolves.toMatchObject({ id: 'u-1', roles: ['admin'] });
    const plain = (await (await send('POST', '/auth/token', { sub: 'u-2' })).json()) as { token: string };
    await expect(createAuthenticator(settings()).verify(plain.token)).resolves.toMatchObject({ id: 'u-2', roles: [] });
    // Another audience does not accept it.
    await expect(createAuthenticator({ ...settings(), AUTH_AUDIENCE: 'other' }).verify(plain.token)).rejects.toBeInstanceOf(BadTokenError);
  });

  it('refuses a bad token request with 400', async () => {
    for (const body of [{}, { sub: '' }, { sub: 'x', roles: 'admin' }, { sub: 'x', expiresIn: 0 }, { sub: 'x', extra: true }]) {
      expect((await send('POST', '/auth/token', body)).status, JSON.stringify(body)).toBe(400);
    }
  });
  it('answers a browser on another origin: the preflight, then the token with Access-Control-Allow-Origin', async () => {
    const preflight = await send('OPTIONS', '/auth/token', undefined, {
      origin: 'http://127.0.0.1:4030',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('content-type');
    const minted = await send('POST', '/auth/token', { sub: 'u-3' }, { origin: 'http://127.0.0.1:4030' });
    expect(minted.status).toBe(200);
    expect(minted.headers.get('access-control-allow-origin')).toBe('*');
    // Only the identity provider's routes: the partners' are for servers.
    const other = await send('OPTIONS', '/enrichment/u-3', undefined, { origin: 'http://127.0.0.1:4030', 'access-control-request-method': 'GET' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('enrichment', () => {
  const id = '7f9c2ba4-e88f-4d2a-9c1e-2b1f0a6d5e31';

  it('answers the same made-up profile for the same id', async () => {
    const first = await send('GET', `/enrichment/${id}`);
    expect(first.status).toBe(200);
    const profile = await first.json();
    expect(profile).toEqual(derivedProfile(id));
    expect(Object.values(profile).every((v) => typeof v === 'string' && v.length > 0)).toBe(true);
    expect(await (await send('GET', `/enrichment/${id}`)).json()).toEqual(profile);
  });

  it('knows nothing of ids beginning with eight zeros', async () => {
    const res = await send('GET', '/enrichment/00000000-0000-4000-8000-000000000001');
    expect(res.status).toBe(404);
  });

  it('serves a profile set with PUT, and 404 after DELETE', async () => {
    const put = await send('PUT', `/enrichment/${id}`, { company: 'Junction Ltd', jobTitle: 'Founder', location: null });
    expect(put.status).toBe(200);
    expect(await (await send('GET', `/enrichment/${id}`)).json()).toEqual({ company: 'Junction Ltd', jobTitle: 'Founder', location: null });
    expect((await send('DELETE', `/enrichment/${id}`)).status).toBe(204);
    expect((await send('GET', `/enrichment/${id}`)).status).toBe(404);
  });

  it('rejects a malformed profile with 400', async () => {
    expect((await send('PUT', `/enrichment/${id}`, { company: 42 })).status).toBe(400);
    expect((await send('PUT', `/enrichment/${id}`, { company: 'x', salary: 1 })).status).toBe(400);
  });
});

describe('event registry', () => {
  const event = { id: 'e-1', name: 'Launch party', userId: 'u-1', startsAt: '2026-11-21T10:00:00.000Z' };

  it('registers an event once; a retry answers 200, other data under the same id 409', async () => {
    const created = await send('POST', '/events', event);
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject(event);
    expect((await send('POST', '/events', event)).status).toBe(200);
    expect((await send('POST', '/events', { ...event, name: 'Other' })).status).toBe(409);
    const listed = (await (await send('GET', '/events')).json()) as unknown[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject(event);
  });

  it.each([[{ ...event, id: '' }], [{ ...event, startsAt: 'tomorrow' }], [{ name: 'No id', userId: 'u', startsAt: event.startsAt }], ['not an object']])(
    'rejects the bad body %j with 400 and registers nothing',
    async (body) => {
      expect((await send('POST', '/events', body)).status).toBe(400);
      expect(state.events.size).toBe(0);
    },
  );

  it('rejects malformed JSON with 400', async () => {
    const res = await fetch(`${base}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":' });
    expect(res.status).toBe(400);
  });
});

describe('notification provider', () => {
  it('requires an Idempotency-Key', async () => {
    expect((await send('POST', '/messages', { to: 'a@example.com' })).status).toBe(400);
    expect(state.deliveries.size).toBe(0);
  });

  it('delivers once per key: a repeat answers 200 with the first message', async () => {
    const first = await send('POST', '/messages', { to: 'a@example.com', text: 'hi' }, { 'Idempotency-Key': 'evt-1' });
    expect(first.status).toBe(202);
    const message = await first.json();
    expect(message).toEqual({ id: expect.any(String), deliveredAt: expect.any(String) });
    const again = await send('POST', '/messages', { to: 'a@example.com', text: 'hi' }, { 'Idempotency-Key': 'evt-1' });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(message);
    expect((await send('POST', '/messages', { text: 'other' }, { 'Idempotency-Key': 'evt-2' })).status).toBe(202);
    const deliveries = (await (await send('GET', '/messages')).json()) as Delivery[];
    expect(deliveries.map((d) => [d.idempotencyKey, d.requests])).toEqual([
      ['evt-1', 2],
      ['evt-2', 1],
    ]);
    expect(deliveries[0]!.body).toEqual({ to: 'a@example.com', text: 'hi' });
  });

  it('delivers a message whose client gave up during the latency; the retry is not a new delivery', async () => {
    await send('POST', '/_chaos/notify', { latencyMs: 300 });
    const gaveUp = send('POST', '/messages', { text: 'slow' }, { 'Idempotency-Key': 'evt-slow' }, AbortSignal.timeout(50));
    await expect(gaveUp).rejects.toThrow();
    await send('DELETE', '/_chaos/notify');
    await expect.poll(() => state.deliveries.size, { timeout: 2000 }).toBe(1);
    const retry = await send('POST', '/messages', { text: 'slow' }, { 'Idempotency-Key': 'evt-slow' });
    expect(retry.status).toBe(200);
    expect(state.deliveries.get('evt-slow')!.requests).toBe(2);
  });
});

describe('backup store', () => {
  it('stores a body as is and returns it; 404 for an unknown name', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252]);
    const put = await fetch(`${base}/backups/db-2026.bin`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    expect(put.status).toBe(201);
    expect(await put.json()).toMatchObject({ name: 'db-2026.bin', size: 6 });
    const got = await send('GET', '/backups/db-2026.bin');
    expect(got.headers.get('content-type')).toMatch(/^application\/octet-stream/);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(bytes);
    expect((await send('GET', '/backups/missing')).status).toBe(404);
  });

  it('takes one upload per UTC day: another (any name) is 429 with Retry-After until midnight UTC, and stores nothing', async () => {
    expect((await fetch(`${base}/backups/first.tar`, { method: 'PUT', body: 'one' })).status).toBe(201);
    for (const name of ['first.tar', 'second.tar']) {
      const again = await fetch(`${base}/backups/${name}`, { method: 'PUT', body: 'two' });
      expect(again.status).toBe(429);
      const retryAfter = Number(again.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(Math.abs(retryAfter - secondsUntilNextUtcDay(new Date()))).toBeLessThanOrEqual(1);
    }
    expect(await (await send('GET', '/backups/first.tar')).text()).toBe('one');
    expect((await send('GET', '/backups/second.tar')).status).toBe(404);
    // A day later the slot is free again.
    state.backupDays.clear();
    expect((await fetch(`${base}/backups/second.tar`, { method: 'PUT', body: 'two' })).status).toBe(201);
  });

  it('does not count a failed (chaos 503) or malformed upload against the day', async () => {
    state.setChaos('backup', { failureRate: 1, latencyMs: 0 });
    expect((await fetch(`${base}/backups/x.tar`, { method: 'PUT', body: 'x' })).status).toBe(503);
    state.resetChaos('backup');
    expect((await fetch(`${base}/backups/bad%20name`, { method: 'PUT', body: 'x' })).status).toBe(400);
    expect((await fetch(`${base}/backups/x.tar`, { method: 'PUT', body: 'x' })).status).toBe(201);
  });
});

describe('chaos', () => {
  it.each([
    [{ failureRate: 1.5 }],
    [{ failureRate: -0.1 }],
    [{ latencyMs: -1 }],
    [{ latencyMs: 1.5 }],
    [{ failureRate: '1' }],
    [{ failureRate: 1, extra: true }],
  ])('rejects %j with 400 and leaves the settings alone', async (body) => {
    expect((await send('POST', '/_chaos/enrichment', body)).status).toBe(400);
    expect(state.chaos.enrichment).toMatchObject({ failureRate: 0, latencyMs: 0 });
  });

  it('answers 404 for an unknown service', async () => {
    expect((await send('POST', '/_chaos/payments', { failureRate: 1 })).status).toBe(404);
  });

  it('fails every request at rate 1, after the latency, only for that service, until reset', async () => {
    expect((await send('POST', '/_chaos/registry', { failureRate: 1, latencyMs: 150 })).status).toBe(200);
    const started = Date.now();
    const failed = await send('POST', '/events', { id: 'e', name: 'n', userId: 'u', startsAt: '2026-01-01T00:00:00Z' });
    expect(failed.status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(state.events.size).toBe(0);
    expect((await send('GET', '/enrichment/someone')).status).toBe(200);
    expect((await send('DELETE', '/_chaos/registry')).status).toBe(204);
    expect((await send('POST', '/events', { id: 'e', name: 'n', userId: 'u', startsAt: '2026-01-01T00:00:00Z' })).status).toBe(201);
  });

  it('fails exactly the given share of requests, spread evenly', async () => {
    await send('POST', '/_chaos/enrichment', { failureRate: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await send('GET', '/enrichment/someone')).status);
    expect(statuses).toEqual([200, 503, 200, 503, 200, 503]);
  });

  it('records partner calls with time, duration and status; DELETE /_calls clears them', async () => {
    await send('POST', '/_chaos/notify', { failureRate: 1, latencyMs: 80 });
    await send('POST', '/messages', { text: 'x' }, { 'Idempotency-Key': 'k1', 'X-Request-ID': 'req-1' });
    await send('GET', '/enrichment/someone');
    await send('GET', '/messages');
    const notify = await calls('notify');
    expect(notify).toHaveLength(1);
    expect(notify[0]).toMatchObject({ service: 'notify', method: 'POST', path: '/messages', status: 503, requestId: 'req-1' });
    expect(notify[0]!.durationMs).toBeGreaterThanOrEqual(75);
    expect(Math.abs(notify[0]!.time - Date.now())).toBeLessThan(5000);
    expect((await calls('enrichment')).map((c) => c.status)).toEqual([200]);
    expect((await send('GET', '/_calls?service=nope')).status).toBe(400);
    expect((await send('DELETE', '/_calls')).status).toBe(204);
    expect(await (await send('GET', '/_calls')).json()).toEqual([]);
  });
});
