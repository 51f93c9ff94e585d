/**
 * In-flight deduplication of the gateway's subgraph fetches, counted at the
 * subgraph: the users subgraph sits behind a recording proxy that holds its
 * answers, so concurrent client requests really overlap at the subgraph.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../common/metrics.ts';
import { gql, gqlData } from '../support/graphql.ts';
import { startTestIdentity, type TestIdentity } from '../support/identity.ts';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.ts';
import { startGateway, startStack, type Stack, type TestGateway } from '../support/stack.ts';
import { closeAll } from '../support/teardown.ts';
import { metric as readMetric } from '../support/metrics.ts';

/** How long the proxy holds each query's answer; mutations pass at once. */
const HOLD_MS = 1200;

let identity: TestIdentity;
let stack: Stack;
let users: RecordingProxy;
let gateway: TestGateway;

beforeAll(async () => {
  identity = await startTestIdentity();
  stack = await startStack('gateway_dedup', { env: { EVENT_REGISTRY_URL: '', ...identity.env } });
  users = await startRecordingProxy(new URL(stack.urls.users!).origin, { holdMs: (body) => (body.startsWith('{"query":"mutation') ? 0 : HOLD_MS) });
  gateway = await startGateway({ ...stack.config, USERS_URL: `${users.url}/graphql` }, 'dedup-gateway');
}, 60_000);

afterAll(() => closeAll(gateway, users, stack, identity));

async function createUser(name: string): Promise<string> {
  const email = `${name.toLowerCase().replace(/\W/g, '')}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const data = await gqlData(stack.gatewayUrl, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', { input: { name, email } });
  return data.createUser.id;
}

/** The users subgraph calls the proxy saw since `from` whose body contains `text`. */
function callsSince(from: number, text: string) {
  return users.exchanges.slice(from).filter((e) => e.path === '/graphql' && e.body.includes(text));
}

const metric = (name: string, labels: Record<string, string>) => readMetric(registry, name, labels);

const USER = 'query One($id: ID!) { user(id: $id) { id name email } }';

/** Signed in as user `id` (email and updateUser are (self)). */
async function as(id: string, roles: string[] = []) {
  return { authorization: `Bearer ${await identity.token(id, { roles })}` };
}

describe('in-flight deduplication of subgraph fetches', () => {
  it('identical concurrent queries make one subgraph call (one breaker call), and each client gets its own copy', async () => {
    const id = await createUser('Ada Shared');
    const me = await as(id);
    const from = users.exchanges.length;
    const fires = await metric('circuit_breaker_fires_total', { breaker: 'subgraph-users' });
    const shared = await metric('junction_gateway_subgraph_fetches_deduplicated_total', { subgraph: 'users' });

    const answers = await Promise.all(Array.from({ length: 8 }, () => gql(gateway.url, USER, { id }, me)));
    for (const answer of answers) {
      expect(answer.errors).toBeUndefined();
      expect(answer.data.user).toEqual({ id, name: 'Ada Shared', email: expect.stringContaining('@example.com') });
    }
    expect(callsSince(from, 'user(id:')).toHaveLength(1);
    expect((await metric('circuit_breaker_fires_total', { breaker: 'subgraph-users' })) - fires).toBe(1);
    expect((await metric('junction_gateway_subgraph_fetches_deduplicated_total', { subgraph: 'users' })) - shared).toBe(7);
    // Separate parsed copies: changing one client's answer in the gateway could not reach another's.
    expect(new Set(answers.map((a) => a.data.user)).size).toBe(8);
  });

  it('two viewers (different Authorization) never share an answer; the same viewer twice does', async () => {
    const id = await createUser('Grace Viewer');
    // Two admins, so both may read the email.
    const [alice, bob] = [await identity.token('alice-viewer', { roles: ['admin'] }), await identity.token('bob-viewer', { roles: ['admin'] })];
    const from = users.exchanges.length;

    const answers = await Promise.all([
      gql(gateway.url, USER, { id }, { authorization: `Bearer ${alice}` }),
      gql(gateway.url, USER, { id }, { authorization: `Bearer ${bob}` }),
      gql(gateway.url, USER, { id }, { authorization: `Bearer ${alice}` }),
    ]);
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    const calls = callsSince(from, 'user(id:');
    expect(calls.map((c) => c.requestHeaders.authorization).sort()).toEqual([`Bearer ${alice}`, `Bearer ${bob}`].sort());
  });

  it('anonymous and signed-in callers do not share either', async () => {
    const id = await createUser('Edsger Anonymous');
    const token = await identity.token('carol-viewer');
    const from = users.exchanges.length;
    await Promise.all([gql(gateway.url, USER, { id }), gql(gateway.url, USER, { id }, { authorization: `Bearer ${token}` })]);
    const calls = callsSince(from, 'user(id:');
    expect(calls.map((c) => c.requestHeaders.authorization ?? null).sort()).toEqual([`Bearer ${token}`, null].sort());
  });

  it('identical concurrent mutations are never merged', async () => {
    const id = await createUser('Barbara Mutation');
    const me = await as(id);
    const from = users.exchanges.length;
    const mutation = 'mutation Rename($id: ID!) { updateUser(id: $id, input: { name: "Barbara Renamed" }) { id name } }';
    const answers = await Promise.all(Array.from({ length: 3 }, () => gql(gateway.url, mutation, { id }, me)));
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    expect(callsSince(from, 'updateUser')).toHaveLength(3);
  });

  it('a query started after a mutation answered sees it, even while an identical query from before is still in flight', async () => {
    const id = await createUser('Old Name');
    const me = await as(id);
    const from = users.exchanges.length;

    // The first query reads the old name, then the proxy holds its answer.
    const before = gql(gateway.url, USER, { id }, me);
    await expect.poll(() => callsSince(from, 'user(id:').length, { timeout: 5000, interval: 10 }).toBeGreaterThan(0);
    expect(callsSince(from, 'user(id:')).toHaveLength(1);

    const renamed = await gql(gateway.url, 'mutation($id: ID!) { updateUser(id: $id, input: { name: "New Name" }) { name } }', { id }, me);
    expect(renamed.data?.updateUser.name).toBe('New Name');

    const after = gql(gateway.url, USER, { id }, me);
    const [first, second] = await Promise.all([before, after]);
    expect(first.data.user.name).toBe('Old Name');
    expect(second.data.user.name).toBe('New Name');
    expect(callsSince(from, 'user(id:')).toHaveLength(2);
  });
});
