import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedIn } from '../support/graphql.ts';
import { startStack, type Stack, type SubgraphName } from '../support/stack.ts';

/**
 * The issue's must-show: a query over 10 parents and the same query over 100
 * cost the same number of SQL statements in every subgraph, because every
 * per-parent field and every entity reference goes through a DataLoader.
 */
const PARENTS = 100;
const MAX_STATEMENTS_PER_SUBGRAPH = 3;

let stack: Stack;
// Signed in as the stack's admin unless a call sends its own Authorization.
const { gqlData } = signedIn(() => stack.admin);

/** Aliases per request, within the gateway's default MAX_ALIASES. */
const PER_REQUEST = 25;

/** Runs `count` mutations as aliased fields, PER_REQUEST to a request; the results keyed m0, m1, ... in order. */
async function batch(mutation: (i: number) => string, count: number): Promise<Record<string, any>> {
  const results: Record<string, any> = {};
  for (let start = 0; start < count; start += PER_REQUEST) {
    const indexes = Array.from({ length: Math.min(PER_REQUEST, count - start) }, (_, k) => start + k);
    Object.assign(results, await gqlData(stack.gatewayUrl, `mutation {\n${indexes.map((i) => `m${i}: ${mutation(i)}`).join('\n')}\n}`));
  }
  return results;
}

beforeAll(async () => {
  stack = await startStack('n_plus_one', { env: { EVENT_REGISTRY_URL: '' } });
  const users = await batch((i) => `createUser(input: { name: "User ${i}", email: "user${i}@example.com" }) { id }`, PARENTS);
  const ids = Object.values(users).map((u: { id: string }) => u.id);
  await batch((i) => `addEvent(input: { name: "Event ${i}", userId: "${ids[i]}", startsAt: "2030-01-01T00:00:00.000Z" }) { id }`, PARENTS);
  await batch((i) => `createProduct(input: { id: "SKU-${i}", name: "Product ${i}", priceCents: ${100 + i}, stock: 10 }) { id }`, PARENTS);
  await batch((i) => `placeOrder(input: { userId: "${ids[i]}", productId: "SKU-${i}", quantity: 1 }) { id }`, PARENTS);
});

afterAll(async () => {
  await stack?.close();
});

/** Statements each subgraph sent while running `query`. */
async function statementsFor(query: string, first: number): Promise<{ data: any; counts: Partial<Record<SubgraphName, number>> }> {
  stack.resetStatements();
  const data = await gqlData(stack.gatewayUrl, query, { first });
  const counts = Object.fromEntries(
    Object.entries(stack.statements)
      .filter(([, list]) => list.length > 0)
      .map(([name, list]) => [name, list.length]),
  );
  return { data, counts };
}

describe.each([
  {
    name: 'users → events',
    // Each user has one event and one order; a page of 5 keeps 100 parents within the default MAX_QUERY_COST.
    query: 'query($first: Int) { users(first: $first) { nodes { id events(first: 5) { id name } } } }',
    nodes: (data: any) => data.users.nodes,
    child: (node: any) => node.events[0]?.name,
    subgraphs: ['users', 'events'],
  },
  {
    name: 'users → orders',
    query: 'query($first: Int) { users(first: $first) { nodes { id orders(first: 5) { id quantity } } } }',
    nodes: (data: any) => data.users.nodes,
    child: (node: any) => node.orders[0]?.quantity,
    subgraphs: ['users', 'orders'],
  },
  {
    name: 'events → organizer',
    query: 'query($first: Int) { events(first: $first) { nodes { id organizer { name email } } } }',
    nodes: (data: any) => data.events.nodes,
    child: (node: any) => node.organizer?.name,
    subgraphs: ['events', 'users'],
  },
  {
    name: 'orders → product (and user)',
    query: 'query($first: Int) { orders(first: $first) { nodes { id product { name priceCents } user { name } } } }',
    nodes: (data: any) => data.orders.nodes,
    child: (node: any) => node.product?.name && node.user?.name,
    subgraphs: ['orders', 'inventory', 'users'],
  },
])('$name', ({ query, nodes, child, subgraphs }) => {
  it(`costs the same statements per subgraph for 10 and ${PARENTS} parents`, async () => {
    const ten = await statementsFor(query, 10);
    const hundred = await statementsFor(query, PARENTS);

    expect(nodes(ten.data)).toHaveLength(10);
    expect(nodes(hundred.data)).toHaveLength(PARENTS);
    // Every parent got its child: the batch resolved them all, not just the first.
    for (const node of nodes(hundred.data)) expect(child(node)).toBeTruthy();

    expect(Object.keys(hundred.counts).sort()).toEqual([...subgraphs].sort());
    expect(hundred.counts).toEqual(ten.counts);
    for (const [subgraph, count] of Object.entries(hundred.counts)) {
      expect(count, `${subgraph} sent ${count} statements: ${stack.statements[subgraph as SubgraphName].join(' | ')}`).toBeLessThanOrEqual(
        MAX_STATEMENTS_PER_SUBGRAPH,
      );
    }
  });
});
