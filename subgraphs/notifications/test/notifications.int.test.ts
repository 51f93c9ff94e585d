import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../scripts/settings.ts';
import { listen, type Listening } from '../../../common/http.ts';
import { createLogger } from '../../../common/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.ts';
import { signedIn } from '../../../test/support/graphql.ts';
import { startTestIdentity, type TestIdentity } from '../../../test/support/identity.ts';
import { createNotificationsSubgraph } from '../server.ts';
import { dropKeys } from '../../../test/support/orders.ts';

// Signed in as an admin unless a call sends its own Authorization (a test identity provider's key, over HTTP).
let idp: TestIdentity;
let admin: Record<string, string> = {};
const { gql, gqlData } = signedIn(() => admin);

const KEY = 'test-ingest-key-0123456789';
const auth = { 'x-api-key': KEY };

let database: TestDatabase;
let http: Listening;
let url: string;
let close: (() => Promise<void>) | undefined;
/** The queue prefix retryNotification's queue opens under: the file's own, dropped after. */
const PREFIX = `jt-notif-sg-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  idp = await startTestIdentity();
  admin = await idp.headers('test-admin', ['admin']);
  database = await createTestDatabase('notifications');
  const config = parseConfig({ ...idp.env, INGEST_API_KEY: KEY, QUEUE_PREFIX: PREFIX });
  const subgraph = await createNotificationsSubgraph({ db: database.db, config, logger: createLogger('notifications', 'silent') });
  close = subgraph.close;
  http = await listen(subgraph.app, 0);
  url = `${http.url}/graphql`;
});

afterAll(async () => {
  await idp?.close();
  await http?.close();
  await close?.();
  await database?.drop();
  await dropKeys(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', `${PREFIX}*`);
});

const INGEST = `mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId status } }`;
const ingest = (input: Record<string, unknown>, headers: Record<string, string> = auth) =>
  gql(url, INGEST, { input: { eventType: 'user_signup', timestamp: '2026-11-21T10:00:00.000Z', ...input } }, headers);

describe('notifications subgraph', () => {
  it('refuses ingestEvent without the right X-API-Key with UNAUTHENTICATED, recording nothing', async () => {
    for (const headers of [{}, { 'x-api-key': 'wrong' }, { 'x-api-key': KEY.replace(/.$/, 'x') }] as Record<string, string>[]) {
      const res = await ingest({ eventId: 'evt-unauth', payload: { userId: randomUUID() } }, headers);
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    expect(await database.sql`select 1 from notifications.notifications`).toHaveLength(0);
  });

  it.each([
    [{ payload: { email: 'x@example.com' } }, 'input.payload.userId'],
    [{ payload: { userId: '  ' } }, 'input.payload.userId'],
    [{ payload: ['not', 'an', 'object'] }, 'input.payload'],
    [{ eventId: 'has:colon', payload: { userId: 'u-1' } }, 'input.eventId'],
    [{ eventId: 'x'.repeat(201), payload: { userId: 'u-1' } }, 'input.eventId'],
    [{ eventType: '   ', payload: { userId: 'u-1' } }, 'input.eventType'],
    [{ eventType: 'a\u0000b', payload: { userId: 'u-1' } }, 'input.eventType'],
    [{ payload: { userId: 'u-1', note: 'nul \u0000 here' } }, 'input.payload'],
    [{ payload: { userId: 'u\u00001' } }, 'input.payload'],
  ])('rejects %j with BAD_USER_INPUT on %s', async (input, field) => {
    const res = await ingest(input);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(res.status).toBe(200);
  });

  it('rejects a payload nested thousands of levels deep with BAD_USER_INPUT, not a crash', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const body = `{"query":${JSON.stringify(INGEST)},"variables":{"input":{"eventType":"x","timestamp":"2026-11-21T10:00:00.000Z","payload":{"userId":"u-1","deep":${deep}}}}}`;
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body });
    const result = (await response.json()) as { errors?: { extensions?: Record<string, unknown> }[] };
    expect(response.status).toBe(200);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.payload' });
  });

  it('records a QUEUED notification and its delivery outbox row (job id = eventId) once per eventId', async () => {
    const userId = randomUUID();
    const first = await gqlData(
      url,
      INGEST,
      { input: { eventId: 'evt-once', eventType: 'user_signup', timestamp: '2026-11-21T10:00:00.000Z', payload: { userId, plan: 'pro' } } },
      auth,
    );
    expect(first.ingestEvent).toEqual({ eventId: 'evt-once', status: 'QUEUED' });
    const again = await gqlData(
      url,
      INGEST,
      { input: { eventId: 'evt-once', eventType: 'user_signup', timestamp: '2026-11-21T10:00:00.000Z', payload: { userId } } },
      auth,
    );
    expect(again.ingestEvent).toEqual({ eventId: 'evt-once', status: 'QUEUED' });

    const rows = await database.sql`select type, user_id, status, payload, occurred_at from notifications.notifications where event_id = 'evt-once'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ type: 'user_signup', user_id: userId, status: 'QUEUED', payload: { userId, plan: 'pro' } });
    expect(new Date(rows[0]!.occurred_at).toISOString()).toBe('2026-11-21T10:00:00.000Z');
    const outbox = await database.sql`select queue, name, job_id, payload from notifications.outbox where job_id = 'evt-once'`;
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ queue: 'notifications', name: 'user_signup', job_id: 'evt-once', payload: { eventId: 'evt-once' } });
  });

  it('generates the eventId when absent, and gives integer-like ids a BullMQ-safe job id', async () => {
    const generated = await gqlData(url, INGEST, { input: { eventType: 'x', timestamp: '2026-11-21T10:00:00.000Z', payload: { userId: 'ext-42' } } }, auth);
    expect(generated.ingestEvent.eventId).toMatch(/^[0-9a-f-]{36}$/);
    await gqlData(url, INGEST, { input: { eventId: '12345', eventType: 'x', timestamp: '2026-11-21T10:00:00.000Z', payload: { userId: 7 } } }, auth);
    const [row] = await database.sql`select job_id from notifications.outbox where payload->>'eventId' = '12345'`;
    expect(row!.job_id).toBe('event-12345');
    const [numeric] = await database.sql`select user_id from notifications.notifications where event_id = '12345'`;
    expect(numeric!.user_id).toBe('7');
  });

  it('looks notifications up by id (null for unknown and malformed ids) and pages them newest first by status', async () => {
    const userId = randomUUID();
    for (let i = 0; i < 3; i++) {
      await gqlData(url, INGEST, { input: { eventId: `evt-page-${i}`, eventType: 'page', timestamp: '2026-11-21T10:00:00.000Z', payload: { userId } } }, auth);
    }
    await database.sql`update notifications.notifications set status = 'FAILED', last_error = 'provider answered 503' where event_id like 'evt-page-%'`;
    const first = await gqlData(
      url,
      `{ notifications(status: FAILED, first: 2) { nodes { id eventId status lastError } pageInfo { hasNextPage endCursor } totalCount } }`,
    );
    expect(first.notifications.nodes.map((n: { eventId: string }) => n.eventId)).toEqual(['evt-page-2', 'evt-page-1']);
    expect(first.notifications.totalCount).toBe(3);
    expect(first.notifications.pageInfo.hasNextPage).toBe(true);
    const rest = await gqlData(
      url,
      `query($after: String) { notifications(status: FAILED, first: 2, after: $after) { nodes { eventId } pageInfo { hasNextPage } } }`,
      {
        after: first.notifications.pageInfo.endCursor,
      },
    );
    expect(rest.notifications.nodes).toEqual([{ eventId: 'evt-page-0' }]);
    expect(rest.notifications.pageInfo.hasNextPage).toBe(false);

    const id = first.notifications.nodes[0].id;
    const found = await gqlData(
      url,
      `query($id: ID!) { a: notification(id: $id) { eventId lastError recipientId } b: notification(id: "nope") { id } c: notification(id: "${randomUUID()}") { id } }`,
      { id },
    );
    expect(found).toEqual({ a: { eventId: 'evt-page-2', lastError: 'provider answered 503', recipientId: userId }, b: null, c: null });
    const forged = Buffer.from(JSON.stringify(['2026-11-21T10:00:00.000Z', 'not-a-uuid'])).toString('base64url');
    for (const bad of [`notifications(first: 0)`, `notifications(first: 101)`, `notifications(after: "garbage")`, `notifications(after: "${forged}")`]) {
      const res = await gql(url, `{ ${bad} { totalCount } }`);
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('resolves User.notifications for many users, newest first and cut at `first`, in one statement', async () => {
    const users = [randomUUID(), randomUUID(), randomUUID()];
    for (const [u, userId] of users.entries()) {
      for (let i = 0; i < u + 1; i++) {
        await gqlData(
          url,
          INGEST,
          { input: { eventId: `evt-u${u}-${i}`, eventType: 'fanout', timestamp: '2026-11-21T10:00:00.000Z', payload: { userId } } },
          auth,
        );
      }
    }
    database.statements.length = 0;
    const data = await gqlData(
      url,
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id notifications(first: 2) { eventId recipientId } } } }`,
      { reps: [...users, randomUUID()].map((id) => ({ __typename: 'User', id })) },
    );
    expect(data._entities.map((u: { notifications: { eventId: string }[] }) => u.notifications.map((n) => n.eventId))).toEqual([
      ['evt-u0-0'],
      ['evt-u1-1', 'evt-u1-0'],
      ['evt-u2-2', 'evt-u2-1'],
      [],
    ]);
    expect(data._entities[1].notifications[0].recipientId).toBe(users[1]);
    expect(database.statements).toHaveLength(1);
    expect(database.statements[0]).toMatch(/row_number\(\) over/);

    const bad = await gql(url, `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { notifications(first: 500) { id } } } }`, {
      reps: [{ __typename: 'User', id: users[0] }],
    });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('resolves Notification references in one statement', async () => {
    const [a, b] = await database.sql`select id, event_id from notifications.notifications order by event_id limit 2`;
    database.statements.length = 0;
    const data = await gqlData(url, `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Notification { eventId } } }`, {
      reps: [a!.id, b!.id, 'malformed'].map((id) => ({ __typename: 'Notification', id })),
    });
    expect(data._entities).toEqual([{ eventId: a!.event_id }, { eventId: b!.event_id }, null]);
    expect(database.statements).toHaveLength(1);
  });

  it('retryNotification: NOT_FOUND for an unknown id, BAD_USER_INPUT for a notification that is not FAILED', async () => {
    for (const id of [randomUUID(), 'malformed']) {
      const res = await gql(url, `mutation($id: ID!) { retryNotification(id: $id) { id } }`, { id });
      expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    const [queued] = await database.sql`select id from notifications.notifications where event_id = 'evt-once'`;
    const res = await gql(url, `mutation($id: ID!) { retryNotification(id: $id) { id } }`, { id: queued!.id });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    const [after] = await database.sql`select status from notifications.notifications where id = ${queued!.id}`;
    expect(after!.status).toBe('QUEUED');
  });

  it('retryNotification while Redis is unreachable: SERVICE_UNAVAILABLE, and the notification stays FAILED', async () => {
    const offline = await createNotificationsSubgraph({
      db: database.db,
      // Nothing listens on port 1.
      config: parseConfig({ ...idp.env, INGEST_API_KEY: KEY, REDIS_URL: 'redis://127.0.0.1:1' }),
      logger: createLogger('notifications', 'silent'),
    });
    const offlineHttp = await listen(offline.app, 0);
    try {
      const [failed] = await database.sql`update notifications.notifications set status = 'FAILED' where event_id = 'evt-page-0' returning id`;
      const res = await gql(`${offlineHttp.url}/graphql`, `mutation($id: ID!) { retryNotification(id: $id) { id } }`, { id: failed!.id });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 1 });
      const [after] = await database.sql`select status from notifications.notifications where id = ${failed!.id}`;
      expect(after!.status).toBe('FAILED');
    } finally {
      await offlineHttp.close();
      await offline.close();
    }
  });
});
