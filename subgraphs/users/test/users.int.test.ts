import { describe, expect, it } from 'vitest';
import { subgraphTest } from '../../../test/support/subgraph.ts';
import { createUsersSubgraph } from '../server.ts';

// Signed in as an admin unless a call sends its own Authorization (a test identity provider's key, over HTTP).
const setup = subgraphTest('users', createUsersSubgraph);
const { gql, gqlData } = setup;

const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { id name email createdAt } }`;

describe('users subgraph', () => {
  it('creates a user, trims its name and writes a USER_SIGNUP outbox row in the same transaction', async () => {
    const { createUser } = await gqlData(setup.url, CREATE, { input: { name: '  Ada Lovelace ', email: 'ada@example.com' } });
    expect(createUser.name).toBe('Ada Lovelace');
    const outbox = await setup.database.sql`select queue, name, payload from users.outbox`;
    expect(outbox).toHaveLength(1);
    expect(outbox[0]!.name).toBe('USER_SIGNUP');
    expect(outbox[0]!.payload.payload.userId).toBe(createUser.id);
  });

  it('rejects a duplicate email whatever its case with CONFLICT', async () => {
    const res = await gql(setup.url, CREATE, { input: { name: 'Ada again', email: 'ADA@Example.COM' } });
    expect(res.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(res.errors?.[0]?.extensions?.field).toBe('input.email');
  });

  it.each([
    [{ name: '   ', email: 'x@example.com' }, 'input.name'],
    [{ name: 'x'.repeat(101), email: 'x@example.com' }, 'input.name'],
    [{ name: 'Bob', email: 'not-an-email' }, 'input.email'],
  ])('rejects invalid input %j with BAD_USER_INPUT on %s', async (input, field) => {
    const res = await gql(setup.url, CREATE, { input });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(res.status).toBe(200);
  });

  it('returns null for unknown and malformed ids', async () => {
    const data = await gqlData(setup.url, `{ a: user(id: "00000000-0000-0000-0000-000000000000") { id } b: user(id: "nope") { id } }`);
    expect(data).toEqual({ a: null, b: null });
  });

  it('finds a user by its id in any letter case (UUIDs are case-insensitive)', async () => {
    const { createUser } = await gqlData(setup.url, CREATE, { input: { name: 'Case', email: 'case@example.com' } });
    const { user } = await gqlData(setup.url, `query($id: ID!) { user(id: $id) { id } }`, { id: createUser.id.toUpperCase() });
    expect(user).toEqual({ id: createUser.id });
  });

  it('updates and deletes, with NOT_FOUND for a missing id', async () => {
    const { createUser } = await gqlData(setup.url, CREATE, { input: { name: 'Grace', email: 'grace@example.com' } });
    const { updateUser } = await gqlData(setup.url, `mutation($id: ID!) { updateUser(id: $id, input: { name: "Grace Hopper" }) { name updatedAt } }`, {
      id: createUser.id,
    });
    expect(updateUser.name).toBe('Grace Hopper');
    expect(await gqlData(setup.url, `mutation($id: ID!) { deleteUser(id: $id) }`, { id: createUser.id })).toEqual({ deleteUser: true });
    const again = await gql(setup.url, `mutation($id: ID!) { deleteUser(id: $id) }`, { id: createUser.id });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const malformed = await gql(setup.url, `mutation { updateUser(id: "x", input: { name: "y" }) { id } }`);
    expect(malformed.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('pages users by createdAt then id with an opaque cursor and rejects bad page arguments', async () => {
    for (let i = 0; i < 3; i++) await gqlData(setup.url, CREATE, { input: { name: `P${i}`, email: `p${i}@example.com` } });
    const first = await gqlData(setup.url, `{ users(first: 2) { nodes { id } pageInfo { hasNextPage endCursor } totalCount } }`);
    expect(first.users.nodes).toHaveLength(2);
    expect(first.users.pageInfo.hasNextPage).toBe(true);
    const rest = await gqlData(setup.url, `query($after: String) { users(first: 100, after: $after) { nodes { id } pageInfo { hasNextPage } } }`, {
      after: first.users.pageInfo.endCursor,
    });
    expect(rest.users.nodes.length + 2).toBe(first.users.totalCount);
    expect(rest.users.pageInfo.hasNextPage).toBe(false);
    for (const bad of [`users(first: 0)`, `users(first: 101)`, `users(after: "garbage")`]) {
      const res = await gql(setup.url, `{ ${bad} { totalCount } }`);
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('answers malformed requests with 4xx, never 5xx', async () => {
    const bad = await fetch(setup.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(bad.status).toBe(400);
    const empty = await fetch(setup.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(empty.status).toBe(400);
  });
});
