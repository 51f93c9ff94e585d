import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedIn } from '../../../test/support/graphql.ts';
import { startStack, type Stack } from '../../../test/support/stack.ts';

let stack: Stack;
// Signed in as the stack's admin unless a call sends its own Authorization.
const { gql, gqlData } = signedIn(() => stack.admin);

beforeAll(async () => {
  stack = await startStack('orders_gateway');
});

afterAll(async () => {
  await stack?.close();
});

describe('orders and inventory through the gateway', () => {
  it('joins an order to its user and product, and each user to their orders, with one statement per subgraph fetch', async () => {
    const url = stack.gatewayUrl;
    const users: { id: string }[] = [];
    for (const name of ['Ada', 'Grace', 'Edsger']) {
      users.push(
        (
          await gqlData(url, `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
            input: { name, email: `${name}-${randomUUID()}@example.com` },
          })
        ).createUser,
      );
    }
    await gqlData(url, `mutation { createProduct(input: { id: "GW-MUG", name: "Mug", priceCents: 900, stock: 3 }) { id } }`);
    for (const user of users) {
      for (const productId of ['GW-MUG', 'GW-GHOST']) {
        await gqlData(url, `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`, { input: { userId: user.id, productId, quantity: 1 } });
      }
    }

    stack.resetStatements();
    // Small pages (each user has 2 orders, each product 1 movement) keep the query within the default MAX_QUERY_COST.
    const { users: page } = await gqlData(
      url,
      `{ users(first: 10) { nodes { id name orders(first: 5) { quantity status user { name } product { id name stock movements(first: 5) { kind quantity } } } } } }`,
    );
    const mine = page.nodes.filter((u: { id: string }) => users.some((x) => x.id === u.id));
    expect(mine).toHaveLength(3);
    for (const user of mine) {
      expect(user.orders).toHaveLength(2);
      for (const order of user.orders) expect(order.user).toEqual({ name: user.name });
      const products = user.orders.map((o: { product: unknown }) => o.product);
      expect(products).toContainEqual({ id: 'GW-MUG', name: 'Mug', stock: 3, movements: [{ kind: 'RESTOCK', quantity: 3 }] });
      expect(products).toContain(null);
    }
    // users page, then User.orders, then Product (+ movements), then User for Order.user: one statement each.
    expect(stack.statements.orders).toHaveLength(1);
    expect(stack.statements.inventory).toHaveLength(2);
    expect(stack.statements.users).toHaveLength(2);
  });

  it('resolves Order.user to null once the user is deleted', async () => {
    const url = stack.gatewayUrl;
    // The user orders and deletes themselves, signed in as themselves.
    const { createUser } = await gqlData(url, `mutation { createUser(input: { name: "Gone", email: "gone-${randomUUID()}@example.com" }) { id } }`);
    const me = await stack.as(createUser.id);
    const { placeOrder } = await gqlData(
      url,
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`,
      {
        input: { productId: 'GW-MUG', quantity: 1 },
      },
      me,
    );
    await gqlData(url, `mutation($id: ID!) { deleteUser(id: $id) }`, { id: createUser.id }, me);
    const res = await gql(url, `query($id: ID!) { order(id: $id) { id user { id name } } }`, { id: placeOrder.id }, me);
    expect(res.errors).toBeUndefined();
    expect(res.data.order).toEqual({ id: placeOrder.id, user: null });
  });
});
