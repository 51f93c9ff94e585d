import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readBreaker, untilBreaker } from '../../../test/support/breaker.ts';
import { partnerSubgraphTest } from '../../../test/support/subgraph.ts';
import { createEventsSubgraph } from '../server.ts';

// Signed in as an admin unless a call sends its own Authorization (a test identity provider's key, over HTTP).
const setup = partnerSubgraphTest('events_registry', createEventsSubgraph, { setting: 'EVENT_REGISTRY_URL', answer: { status: 201, json: {} } });
const { gql } = setup;

/** An events subgraph wired from configuration alone, as index.ts runs it: its own registry breaker. */
const startEvents = setup.start;

const ADD = `mutation($input: AddEventInput!) { addEvent(input: $input) { id name startsAt } }`;
const addEvent = (url: string, name = 'Meetup') => gql(url, ADD, { input: { name, userId: randomUUID(), startsAt: '2031-03-04T18:30:00.000Z' } });

async function stored(name: string): Promise<number> {
  const [row] = await setup.database.sql`select count(*)::int as n from events.events where name = ${name}`;
  return row!.n as number;
}

describe('addEvent with the event registry', () => {
  it('registers the event (id, name, userId, startsAt) before storing it under the same id', async () => {
    const { url } = await startEvents();
    const res = await addEvent(url, 'Registered');
    expect(res.errors).toBeUndefined();
    expect(setup.partner.calls).toHaveLength(1);
    expect(setup.partner.calls[0]).toMatchObject({ method: 'POST', path: '/events' });
    expect(JSON.parse(setup.partner.calls[0]!.body)).toEqual({
      id: res.data.addEvent.id,
      name: 'Registered',
      userId: expect.any(String),
      startsAt: '2031-03-04T18:30:00.000Z',
    });
    expect(await stored('Registered')).toBe(1);
  });

  it('retries a failing registration (the id makes a repeat harmless) and stores the event once it succeeds', async () => {
    const { url } = await startEvents();
    setup.partner.script({ status: 503 }, { status: 503 }, { status: 201, json: {} });
    const res = await addEvent(url, 'Retried');
    expect(res.errors).toBeUndefined();
    expect(setup.partner.calls).toHaveLength(3);
    expect(new Set(setup.partner.calls.map((call) => JSON.parse(call.body).id))).toEqual(new Set([res.data.addEvent.id]));
    expect(await stored('Retried')).toBe(1);
  });

  it('while the registry is down: SERVICE_UNAVAILABLE with retryAfter and the breaker state, nothing stored, failing fast once open, and working again after half-open', async () => {
    const { url } = await startEvents({ BREAKER_RESET_TIMEOUT_MS: '1500' });
    setup.partner.answer({ status: 503, json: { error: 'down' } });

    const first = await addEvent(url, 'Down');
    expect(first.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 1, circuitBreakerState: 'CLOSED' });
    expect(setup.partner.calls).toHaveLength(4);

    const more = await Promise.all(Array.from({ length: 4 }, () => addEvent(url, 'Down')));
    const states = more.map((res) => res.errors?.[0]?.extensions?.circuitBreakerState);
    expect(states).toContain('OPEN'); // the call that opened it already says so
    expect(more.every((res) => res.errors?.[0]?.extensions?.code === 'SERVICE_UNAVAILABLE')).toBe(true);

    // Fails fast: the open breaker answers without calling the registry (no new call below).
    const seen = setup.partner.calls.length;
    const fast = await addEvent(url, 'Down');
    expect(fast.data).toBeNull();
    expect(fast.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', circuitBreakerState: 'OPEN' });
    expect(fast.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
    expect(fast.errors?.[0]?.extensions?.retryAfter).toBeLessThanOrEqual(2);
    expect(setup.partner.calls).toHaveLength(seen);
    expect(await stored('Down')).toBe(0);

    await untilBreaker(url.replace(/\/graphql$/, ''), 'event-registry', 1, 20_000); // half-open after BREAKER_RESET_TIMEOUT_MS
    setup.partner.answer({ status: 201, json: {} });
    const recovered = await addEvent(url, 'Recovered');
    expect(recovered.errors).toBeUndefined();
    const again = await addEvent(url, 'Recovered');
    expect(again.errors).toBeUndefined();
    expect(await stored('Recovered')).toBe(2);
    expect(await stored('Down')).toBe(0);
  });

  it('backs off a registry that stays down: each failed half-open trial doubles the wait, and retryAfter says so; an answer brings it back to BREAKER_RESET_TIMEOUT_MS', async () => {
    const { url, base } = await startEvents({ BREAKER_RESET_TIMEOUT_MS: '1000', BREAKER_MAX_RESET_TIMEOUT_MS: '4000', BREAKER_VOLUME_THRESHOLD: '1' });
    const metrics = `${base}/metrics`;
    setup.partner.answer({ status: 503, json: { error: 'down' } });
    const retryAfterOf = (res: Awaited<ReturnType<typeof addEvent>>) => {
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', circuitBreakerState: 'OPEN' });
      return res.errors![0]!.extensions!.retryAfter as number;
    };

    expect((await addEvent(url, 'Backoff')).errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(await readBreaker(metrics, 'event-registry')).toEqual({ state: 2, waitMs: 1000, failedTrials: 0 });
    const retryAfters = [retryAfterOf(await addEvent(url, 'Backoff'))];
    expect(retryAfters[0]).toBe(1);

    for (let trial = 1; trial <= 2; trial++) {
      await untilBreaker(metrics, 'event-registry', 1, 20_000);
      const calls = setup.partner.calls.length;
      // The trial call (with its retries) finds the registry still down: the breaker opens again, for twice as long.
      const answered = await addEvent(url, 'Backoff');
      expect(setup.partner.calls.length).toBeGreaterThan(calls);
      retryAfters.push(retryAfterOf(answered));
      const reading = await readBreaker(metrics, 'event-registry');
      const nominal = Math.min(4000, 1000 * 2 ** trial);
      expect(reading).toMatchObject({ state: 2, failedTrials: trial });
      expect(reading.waitMs).toBeGreaterThanOrEqual(nominal * 0.8);
      expect(reading.waitMs).toBeLessThanOrEqual(nominal);
      // Answered right after the breaker opened again: retryAfter is the whole wait in force, rounded up.
      expect(retryAfters[trial]).toBeLessThanOrEqual(Math.ceil(reading.waitMs / 1000));
      expect(retryAfters[trial]).toBeGreaterThan(retryAfters[trial - 1]!);
    }
    expect(await stored('Backoff')).toBe(0);

    // Back: the next trial succeeds and the breaker closes with its wait at BREAKER_RESET_TIMEOUT_MS again.
    setup.partner.answer({ status: 201, json: {} });
    await untilBreaker(metrics, 'event-registry', 1, 20_000);
    expect((await addEvent(url, 'Back')).errors).toBeUndefined();
    expect(await readBreaker(metrics, 'event-registry')).toEqual({ state: 0, waitMs: 1000, failedTrials: 0 });
    expect(await stored('Back')).toBe(1);
  });

  it('takes a 4xx refusal as the answer (BAD_USER_INPUT, not retried, nothing stored) without tripping the breaker', async () => {
    const { url } = await startEvents();
    setup.partner.answer({ status: 400, json: { error: 'no' } });
    for (let i = 0; i < 6; i++) {
      const res = await addEvent(url, 'Refused');
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' });
    }
    expect(setup.partner.calls).toHaveLength(6);
    expect(await stored('Refused')).toBe(0);
    setup.partner.answer({ status: 201, json: {} });
    expect((await addEvent(url, 'Accepted')).errors).toBeUndefined();
  });

  it('registers nothing when EVENT_REGISTRY_URL is empty', async () => {
    const { url } = await startEvents({ EVENT_REGISTRY_URL: '' });
    const res = await addEvent(url, 'Unregistered');
    expect(res.errors).toBeUndefined();
    expect(setup.partner.calls).toHaveLength(0);
    expect(await stored('Unregistered')).toBe(1);
  });

  it('serves the registry breaker on /metrics', async () => {
    const { base } = await startEvents();
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^circuit_breaker_state\{breaker="event-registry"\} 0$/m);
    expect(text).toMatch(/^circuit_breaker_rejects_total\{breaker="event-registry"\} \d+$/m);
  });
});
