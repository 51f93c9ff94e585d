import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { next } from '../../../test/support/breaker.ts';
import { gaps, startScriptedPartner } from '../../../test/support/partner-server.ts';
import { partnerSubgraphTest } from '../../../test/support/subgraph.ts';
import { createUsersSubgraph } from '../server.ts';

// Signed in as an admin unless a call sends its own Authorization (a test identity provider's key, over HTTP).
const setup = partnerSubgraphTest('users_enrichment', createUsersSubgraph, { setting: 'ENRICHMENT_URL', answer: { status: 200, json: {} } });
const { gql } = setup;

/** A users subgraph of its own (so a breaker of its own) on a free port. */
async function startUsers(env: Record<string, string> = {}) {
  const { url, base, subgraph } = await setup.start(env);
  return { url, base, breaker: subgraph.enrichment.breaker };
}

async function createUsers(n: number): Promise<string[]> {
  const rows = await setup.database.sql<{ id: string }[]>`
    insert into users.users (name, email)
    select 'User ' || i, 'u' || i || '-' || gen_random_uuid() || '@example.com' from generate_series(1, ${n}) as i
    returning id`;
  return rows.map((row) => row.id);
}

const FIELDS = `id enrichment { status company jobTitle location fetchedAt }`;

/** The real federated fetch of users by key, as the gateway sends it. */
function entities(url: string, ids: string[], fields = FIELDS, headers: Record<string, string> = {}) {
  return gql(
    url,
    `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { ${fields} } } }`,
    { r: ids.map((id) => ({ __typename: 'User', id })) },
    headers,
  );
}

const profile = (id: string) => ({ company: `Company of ${id.slice(0, 8)}`, jobTitle: 'Engineer', location: 'Lisbon' });
const healthy = () => setup.partner.answer((call) => ({ status: 200, json: profile(call.path.split('/').pop()!) }));
const down = () => setup.partner.answer({ status: 503, json: { error: 'down' } });

describe('User.enrichment', () => {
  it('retries two 503s after ≈100 ms and ≈200 ms and serves the third answer as AVAILABLE, stored as last-known-good', async () => {
    const { url } = await startUsers();
    const [id] = await createUsers(1);
    setup.partner.script({ status: 503 }, { status: 503 }, { status: 200, json: profile(id!) });
    const res = await entities(url, [id!]);
    expect(res.errors).toBeUndefined();
    expect(res.data._entities[0].enrichment).toMatchObject({ status: 'AVAILABLE', ...profile(id!) });
    expect(setup.partner.calls.map((call) => call.path)).toEqual(Array(3).fill(`/enrichment/${id}`));
    const [first, second] = gaps(setup.partner.calls);
    expect(first).toBeGreaterThanOrEqual(95);
    // Upper bounds show no backoff is added to the configured delays; loose, for a loaded machine.
    expect(first).toBeLessThan(350);
    expect(second).toBeGreaterThanOrEqual(195);
    expect(second).toBeLessThan(450);
    const [stored] = await setup.database.sql`select found, company, job_title, location from users.enrichments where user_id = ${id!}`;
    expect(stored).toEqual({ found: true, company: profile(id!).company, job_title: 'Engineer', location: 'Lisbon' });
  });

  it('serves data fresher than ENRICHMENT_TTL_MS without calling out, and asks again once it is older', async () => {
    const { url } = await startUsers({ ENRICHMENT_TTL_MS: '400' });
    const [id] = await createUsers(1);
    healthy();
    const first = (await entities(url, [id!])).data._entities[0].enrichment;
    const again = (await entities(url, [id!])).data._entities[0].enrichment;
    expect(again).toEqual(first);
    expect(setup.partner.calls).toHaveLength(1);
    await sleep(450); // time passes on purpose: the stored data is now older than ENRICHMENT_TTL_MS
    const later = (await entities(url, [id!])).data._entities[0].enrichment;
    expect(later.status).toBe('AVAILABLE');
    expect(Date.parse(later.fetchedAt)).toBeGreaterThan(Date.parse(first.fetchedAt));
    expect(setup.partner.calls).toHaveLength(2);
  });

  it('takes 404 as "nothing known": AVAILABLE with null fields, never retried', async () => {
    const { url } = await startUsers();
    const [id] = await createUsers(1);
    setup.partner.answer({ status: 404, json: { error: 'nothing known' } });
    const res = await entities(url, [id!]);
    expect(res.data._entities[0].enrichment).toMatchObject({ status: 'AVAILABLE', company: null, jobTitle: null, location: null });
    expect(res.data._entities[0].enrichment.fetchedAt).not.toBeNull();
    expect(setup.partner.calls).toHaveLength(1);
  });

  it('retries an attempt that exceeds ENRICHMENT_TIMEOUT_MS', async () => {
    const { url } = await startUsers({ ENRICHMENT_TIMEOUT_MS: '100' });
    const [id] = await createUsers(1);
    setup.partner.script({ status: 200, json: profile(id!), delayMs: 400 }, { status: 200, json: profile(id!) });
    const res = await entities(url, [id!]);
    expect(res.data._entities[0].enrichment).toMatchObject({ status: 'AVAILABLE', ...profile(id!) });
    expect(setup.partner.calls).toHaveLength(2);
  });

  it('asks once per user per request, with the calls of one request in flight together and its request id', async () => {
    const { url } = await startUsers();
    const ids = await createUsers(4);
    setup.partner.answer((call) => ({ status: 200, json: profile(call.path.split('/').pop()!), delayMs: 150 }));
    const started = Date.now();
    const res = await entities(url, [...ids, ...ids], FIELDS, { 'x-request-id': 'req-enrich-1' });
    expect(res.data._entities.map((u: { enrichment: { status: string } }) => u.enrichment.status)).toEqual(Array(8).fill('AVAILABLE'));
    expect(setup.partner.calls).toHaveLength(4);
    expect(setup.partner.calls.map((call) => call.headers['x-request-id'])).toEqual(Array(4).fill('req-enrich-1'));
    expect(Date.now() - started).toBeLessThan(450); // not 4 × 150 ms one after another
  });

  it('with the partner down: STALE for users fetched before, UNAVAILABLE for others, no error; once open, no calls and no waiting', async () => {
    // TTL 0: every request asks the partner, so what was fetched before is stale at once.
    const { url, breaker } = await startUsers({ ENRICHMENT_TTL_MS: '0', BREAKER_RESET_TIMEOUT_MS: '60000' });
    const known = await createUsers(3);
    const unknown = await createUsers(3);
    healthy();
    expect((await entities(url, known)).data._entities.every((u: any) => u.enrichment.status === 'AVAILABLE')).toBe(true);

    down();
    setup.partner.calls.length = 0;
    const res = await entities(url, [...known, ...unknown]);
    expect(res.errors).toBeUndefined();
    const byId = new Map(res.data._entities.map((u: any) => [u.id, u.enrichment]));
    for (const id of known) expect(byId.get(id)).toMatchObject({ status: 'STALE', ...profile(id) });
    for (const id of unknown) expect(byId.get(id)).toEqual({ status: 'UNAVAILABLE', company: null, jobTitle: null, location: null, fetchedAt: null });
    expect(setup.partner.calls).toHaveLength(6 * 4); // each user: one call and three retries
    expect(breaker.state).toBe('OPEN');

    // Open: even a partner that would hang is never asked, so the field costs no wait. A call would take at least
    // ENRICHMENT_TIMEOUT_MS (1000 ms) per attempt; each request here must finish in under half of that.
    setup.partner.answer({ status: 200, json: {}, delayMs: 3000 });
    const seen = setup.partner.calls.length;
    const ids = [...known, ...unknown];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const enriched = await entities(url, ids);
      expect(performance.now() - started).toBeLessThan(500);
      expect(enriched.errors).toBeUndefined();
      expect(enriched.data._entities.filter((u: any) => u.enrichment.status === 'STALE')).toHaveLength(3);
    }
    expect(setup.partner.calls).toHaveLength(seen);
    // How little the field adds with the breaker open is measured in BENCHMARKS.md (npm run bench -- enrichment), not here.
  });

  it('recovers through half-open after BREAKER_RESET_TIMEOUT_MS: one trial call; a failed one doubles the wait; then calls again', async () => {
    const { url, breaker } = await startUsers({ ENRICHMENT_TTL_MS: '0', BREAKER_RESET_TIMEOUT_MS: '600' });
    const ids = await createUsers(5);
    down();
    await entities(url, ids);
    expect(breaker.state).toBe('OPEN');
    expect(breaker.resetTimeoutMs).toBe(600);

    // Still down when it half-opens: the one trial call fails and the breaker opens again, backing off.
    await next(breaker, 'halfOpen', 10_000);
    setup.partner.calls.length = 0;
    const trial = await entities(url, ids);
    expect(trial.errors).toBeUndefined();
    expect(new Set(setup.partner.calls.map((call) => call.path)).size).toBe(1);
    expect(breaker.state).toBe('OPEN');
    expect(breaker.failedTrials).toBe(1);
    expect(breaker.resetTimeoutMs).toBeGreaterThanOrEqual(960);
    expect(breaker.resetTimeoutMs).toBeLessThanOrEqual(1200);

    await next(breaker, 'halfOpen', 10_000);
    healthy();
    setup.partner.calls.length = 0;
    const first = await entities(url, [ids[0]!]);
    expect(first.data._entities[0].enrichment).toMatchObject({ status: 'AVAILABLE', ...profile(ids[0]!) });
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.resetTimeoutMs).toBe(600);
    const all = await entities(url, ids);
    expect(all.data._entities.map((u: any) => u.enrichment.status)).toEqual(Array(5).fill('AVAILABLE'));
    expect(setup.partner.calls).toHaveLength(6);
  });

  it('never fails the query when the enrichment service cannot be reached at all', async () => {
    const closed = await startScriptedPartner();
    await closed.close(); // nothing listens there any more: connection refused
    const { url } = await startUsers({ ENRICHMENT_URL: closed.url });
    const [id] = await createUsers(1);
    const res = await gql(url, `query($id: ID!) { user(id: $id) { id name enrichment { status fetchedAt } } }`, { id });
    expect(res.errors).toBeUndefined();
    expect(res.data.user.enrichment).toEqual({ status: 'UNAVAILABLE', fetchedAt: null });
  });

  it('serves the enrichment breaker on /metrics', async () => {
    const { base } = await startUsers();
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^circuit_breaker_state\{breaker="enrichment"\} 0$/m);
    expect(text).toMatch(/^circuit_breaker_fires_total\{breaker="enrichment"\} \d+$/m);
  });
});
