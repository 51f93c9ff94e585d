import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../scripts/settings.ts';
import { ServiceUnavailableError } from '../../../common/errors.ts';
import { listen, type Listening } from '../../../common/http.ts';
import { createLogger } from '../../../common/logger.ts';
import { encodeCursor } from '../../../common/pagination.ts';
import { subgraphTest } from '../../../test/support/subgraph.ts';
import type { EventRegistry, RegisteredEvent } from '../registry.ts';
import { createEventsSubgraph } from '../server.ts';

// Signed in as an admin unless a call sends its own Authorization (a test identity provider's key, over HTTP).
const setup = subgraphTest('events');
const { gql, gqlData } = setup;

/** A registry that records what it was told, as the real client would send it. */
class RecordingRegistry implements EventRegistry {
  readonly registered: RegisteredEvent[] = [];
  async register(event: RegisteredEvent): Promise<void> {
    this.registered.push(event);
  }
}

/** A registry whose service is down: it refuses every event, as the breaker-wrapped client does. */
class FailingRegistry implements EventRegistry {
  calls = 0;
  async register(): Promise<void> {
    this.calls++;
    throw new ServiceUnavailableError('event registry unavailable', 7, { circuitBreakerState: 'OPEN' });
  }
}

const registry = new RecordingRegistry();
const failing = new FailingRegistry();
const servers: Listening[] = [];
let url: string;
let failingUrl: string;

beforeAll(async () => {
  const deps = { db: setup.database.db, config: parseConfig({ ...setup.idp.env }), logger: createLogger('events', 'silent') };
  for (const [registryOf, set] of [
    [registry, (u: string) => (url = u)],
    [failing, (u: string) => (failingUrl = u)],
  ] as const) {
    const { app } = await createEventsSubgraph({ ...deps, registry: registryOf });
    const http = await listen(app, 0);
    servers.push(http);
    set(`${http.url}/graphql`);
  }
});

afterAll(async () => {
  for (const http of servers) await http.close();
});

const ADD = `mutation($input: AddEventInput!) { addEvent(input: $input) { id name description startsAt createdAt organizerId } }`;

async function eventCount(): Promise<number> {
  const [row] = await setup.database.sql`select count(*)::int as n from events.events`;
  return row!.n as number;
}

describe('addEvent', () => {
  it('stores the event, registers it first with the same id, and keeps the organizer id for the users subgraph', async () => {
    const userId = randomUUID();
    const { addEvent } = await gqlData(url, ADD, {
      input: { name: '  Launch party ', userId, startsAt: '2030-05-01T18:00:00.000Z', description: 'Cake.' },
    });
    expect(addEvent).toMatchObject({ name: 'Launch party', description: 'Cake.', startsAt: '2030-05-01T18:00:00.000Z', organizerId: userId });
    expect(registry.registered.at(-1)).toEqual({ id: addEvent.id, name: 'Launch party', userId, startsAt: new Date('2030-05-01T18:00:00.000Z') });
    const [row] = await setup.database.sql`select user_id, name from events.events where id = ${addEvent.id}`;
    expect(row).toEqual({ user_id: userId, name: 'Launch party' });
  });

  it('defaults startsAt to the time of the call and description to null', async () => {
    const before = Date.now();
    const { addEvent } = await gqlData(url, ADD, { input: { name: 'Now', userId: randomUUID() } });
    const after = Date.now();
    const startsAt = Date.parse(addEvent.startsAt);
    expect(startsAt).toBeGreaterThanOrEqual(before);
    expect(startsAt).toBeLessThanOrEqual(after);
    expect(addEvent.description).toBeNull();
  });

  it('accepts a name of exactly 200 characters after trimming', async () => {
    const { addEvent } = await gqlData(url, ADD, { input: { name: ` ${'n'.repeat(200)} `, userId: randomUUID() } });
    expect(addEvent.name).toHaveLength(200);
  });

  it.each([
    ['a blank name', 'input.name', { name: '   ' }],
    ['a 201-character name', 'input.name', { name: 'x'.repeat(201) }],
    ['a userId that is no UUID', 'input.userId', { userId: 'not-a-uuid' }],
    ['a 5001-character description', 'input.description', { description: 'd'.repeat(5001) }],
  ])('rejects %s with BAD_USER_INPUT on %s, registering and storing nothing', async (_label, field, override) => {
    const registeredBefore = registry.registered.length;
    const storedBefore = await eventCount();
    const res = await gql(url, ADD, { input: { name: 'Valid', userId: randomUUID(), ...override } });
    expect(res.status).toBe(200);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(registry.registered).toHaveLength(registeredBefore);
    expect(await eventCount()).toBe(storedBefore);
  });

  it('rejects a startsAt PostgreSQL cannot store (year 0) as BAD_USER_INPUT, 4xx, storing nothing', async () => {
    const storedBefore = await eventCount();
    const res = await gql(url, ADD, { input: { name: 'Valid', userId: randomUUID(), startsAt: '0000-01-01T00:00:00.000Z' } });
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await eventCount()).toBe(storedBefore);
  });

  it('fails with the registry error and stores nothing while the registry fails', async () => {
    const storedBefore = await eventCount();
    const res = await gql(failingUrl, ADD, { input: { name: 'Unregistered', userId: randomUUID() } });
    expect(res.status).toBe(200);
    expect(res.data).toBeNull();
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 7, circuitBreakerState: 'OPEN' });
    expect(failing.calls).toBe(1);
    expect(await eventCount()).toBe(storedBefore);
    const [row] = await setup.database.sql`select count(*)::int as n from events.events where name = 'Unregistered'`;
    expect(row!.n).toBe(0);
  });
});

describe('lookups and pagination', () => {
  it('returns null for unknown and malformed ids, by query and by entity reference', async () => {
    const data = await gqlData(url, `{ a: event(id: "00000000-0000-0000-0000-000000000000") { id } b: event(id: "nope") { id } }`);
    expect(data).toEqual({ a: null, b: null });
    const { _entities } = await gqlData(url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { id } } }`, {
      r: [
        { __typename: 'Event', id: randomUUID() },
        { __typename: 'Event', id: '1; drop table events' },
      ],
    });
    expect(_entities).toEqual([null, null]);
  });

  it('pages events by startsAt then id with an opaque cursor', async () => {
    // Ties on startsAt are broken by id.
    for (const startsAt of ['2001-01-01T00:00:00.000Z', '2001-01-01T00:00:00.000Z', '2001-01-01T00:00:00.000Z', '2000-06-01T00:00:00.000Z']) {
      await gqlData(url, ADD, { input: { name: 'Paged', userId: randomUUID(), startsAt } });
    }
    const expected = (await setup.database.sql`select id from events.events order by starts_at, id`).map((r) => r.id);
    const seen: string[] = [];
    let after: string | null = null;
    let total = -1;
    for (let page = 0; page < 50; page++) {
      const res: any = await gqlData(
        url,
        `query($after: String) { events(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } totalCount } }`,
        { after },
      );
      seen.push(...res.events.nodes.map((n: { id: string }) => n.id));
      total = res.events.totalCount;
      if (!res.events.pageInfo.hasNextPage) break;
      after = res.events.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
    expect(total).toBe(expected.length);
    const empty = await gqlData(url, `query($after: String) { events(after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`, {
      after: encodeCursor([new Date('9999-01-01T00:00:00.000Z'), randomUUID()]),
    });
    expect(empty.events).toEqual({ nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it.each([
    ['first: 0', 'first', 'events(first: 0)'],
    ['first: 101', 'first', 'events(first: 101)'],
    ['a garbage cursor', 'after', 'events(after: "garbage")'],
    ['a cursor whose id is no UUID', 'after', `events(after: "${encodeCursor([new Date('2001-01-01T00:00:00.000Z'), 'not-a-uuid'])}")`],
    ['a cursor in year 0', 'after', `events(after: "${encodeCursor([new Date('0000-01-01T00:00:00.000Z'), randomUUID()])}")`],
  ])('rejects events with %s: BAD_USER_INPUT on %s', async (_label, field, selection) => {
    const res = await gql(url, `{ ${selection} { totalCount } }`);
    expect(res.status).toBe(200);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });
});

describe('User.events through the federation _entities query', () => {
  const ENTITIES = `query($r: [_Any!]!, $first: Int) { _entities(representations: $r) { ... on User { id events(first: $first) { id startsAt organizerId } } } }`;
  const users = Array.from({ length: 100 }, () => randomUUID());
  /** Events of each user, by startsAt then id, as inserted. */
  const expected = new Map<string, { id: string; startsAt: string }[]>();

  beforeAll(async () => {
    // User i organizes i % 4 events, inserted in reverse time order to prove the ordering.
    // (ISO strings: drizzle turns off postgres.js's Date serializer on this shared pool.)
    const rows = users.flatMap((userId, i) =>
      Array.from({ length: i % 4 }, (_, k) => ({
        id: randomUUID(),
        user_id: userId,
        name: `E${i}.${k}`,
        starts_at: new Date(Date.UTC(2040, 0, 10 - k)).toISOString(),
      })),
    );
    await setup.database.sql`insert into events.events ${setup.database.sql(rows)}`;
    for (const userId of users) {
      const mine = rows.filter((r) => r.user_id === userId).sort((a, b) => a.starts_at.localeCompare(b.starts_at));
      expected.set(
        userId,
        mine.map((r) => ({ id: r.id, startsAt: r.starts_at })),
      );
    }
  });

  it.each([10, 100])('answers %i User representations with ONE SQL statement', async (n) => {
    const r = users.slice(0, n).map((id) => ({ __typename: 'User', id }));
    setup.database.statements.length = 0;
    const { _entities } = await gqlData(url, ENTITIES, { r, first: 2 });
    expect(setup.database.statements).toHaveLength(1);
    expect(setup.database.statements[0]).toMatch(/row_number\(\) over \(partition by/);
    expect(_entities).toHaveLength(n);
    for (const [i, entity] of _entities.entries()) {
      const userId = users[i]!;
      expect(entity.id).toBe(userId);
      expect(entity.events.map((e: { id: string; startsAt: string }) => ({ id: e.id, startsAt: e.startsAt }))).toEqual(expected.get(userId)!.slice(0, 2));
      for (const event of entity.events) expect(event.organizerId).toBe(userId);
    }
  });

  it('defaults first to 50, and gives unknown and malformed user ids no events', async () => {
    const r = [users[3], randomUUID(), 'not-a-uuid'].map((id) => ({ __typename: 'User', id }));
    setup.database.statements.length = 0;
    const { _entities } = await gqlData(url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { events { id } } } }`, { r });
    expect(_entities.map((u: { events: unknown[] }) => u.events.length)).toEqual([3, 0, 0]);
    expect(setup.database.statements).toHaveLength(1);
  });

  it('resolves 10 Event references with ONE SQL statement', async () => {
    const ids = [...expected.values()]
      .flat()
      .slice(0, 10)
      .map((e) => e.id);
    setup.database.statements.length = 0;
    const { _entities } = await gqlData(url, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { id } } }`, {
      r: ids.map((id) => ({ __typename: 'Event', id })),
    });
    expect(_entities.map((e: { id: string }) => e.id)).toEqual(ids);
    expect(setup.database.statements).toHaveLength(1);
  });

  it.each([0, 101])('rejects events(first: %i) with BAD_USER_INPUT on first', async (first) => {
    const res = await gql(url, ENTITIES, { r: [{ __typename: 'User', id: users[1] }], first });
    expect(res.status).toBe(200);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});
