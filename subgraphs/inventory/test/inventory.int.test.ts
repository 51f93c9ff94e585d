import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { subgraphTest } from '../../../test/support/subgraph.ts';
import { createInventorySubgraph } from '../server.ts';

// Signed in as an admin unless a call sends its own Authorization (a test identity provider's key, over HTTP).
const setup = subgraphTest('inventory', createInventorySubgraph);
const { gql, gqlData } = setup;

const CREATE = `mutation($input: CreateProductInput!) { createProduct(input: $input) { id name priceCents stock reserved movements { kind quantity orderId at } } }`;
const RESTOCK = `mutation($id: ID!, $quantity: Int!) { restockProduct(id: $id, quantity: $quantity) { id stock reserved movements { kind quantity orderId } } }`;

const product = (id: string, stock = 10) => ({ id, name: `Product ${id}`, priceCents: 1999, stock });

describe('createProduct', () => {
  it('creates a product with a trimmed name and records its initial stock as one RESTOCK movement', async () => {
    const { createProduct } = await gqlData(setup.url, CREATE, { input: { id: 'SKU-1_a', name: '  Blue mug  ', priceCents: 1250, stock: 7 } });
    expect(createProduct).toMatchObject({ id: 'SKU-1_a', name: 'Blue mug', priceCents: 1250, stock: 7, reserved: 0 });
    expect(createProduct.movements).toEqual([{ kind: 'RESTOCK', quantity: 7, orderId: null, at: expect.any(String) }]);
  });

  it('records no movement for a product created with no stock', async () => {
    const { createProduct } = await gqlData(setup.url, CREATE, { input: { id: 'EMPTY', name: 'Nothing yet', priceCents: 0, stock: 0 } });
    expect(createProduct).toMatchObject({ stock: 0, priceCents: 0, movements: [] });
  });

  it('rejects an existing id with CONFLICT on input.id and changes nothing', async () => {
    const res = await gql(setup.url, CREATE, { input: { id: 'SKU-1_a', name: 'Other', priceCents: 1, stock: 100 } });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'input.id' });
    const { product } = await gqlData(setup.url, `{ product(id: "SKU-1_a") { name stock movements { quantity } } }`);
    expect(product).toEqual({ name: 'Blue mug', stock: 7, movements: [{ quantity: 7 }] });
  });

  it.each([
    [{ ...product('x'), id: '' }, 'input.id'],
    [{ ...product('x'), id: 'has space' }, 'input.id'],
    [{ ...product('x'), id: 'colon:no' }, 'input.id'],
    [{ ...product('x'), id: 'a'.repeat(65) }, 'input.id'],
    [{ ...product('x'), name: '   ' }, 'input.name'],
    [{ ...product('x'), name: 'n'.repeat(201) }, 'input.name'],
    [{ ...product('x'), name: 'nul\u0000name' }, 'input.name'],
    [{ ...product('x'), priceCents: -1 }, 'input.priceCents'],
    [{ ...product('x'), stock: -1 }, 'input.stock'],
  ])('rejects %j with BAD_USER_INPUT on %s', async (input, field) => {
    const res = await gql(setup.url, CREATE, { input });
    expect(res.status).toBe(200);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    const [row] = await setup.database.sql`select count(*)::int as n from inventory.products where id = ${input.id}`;
    expect(row!.n).toBe(0);
  });

  it('accepts the longest SKU and name', async () => {
    const id = 'Z'.repeat(64);
    const { createProduct } = await gqlData(setup.url, CREATE, { input: { id, name: 'n'.repeat(200), priceCents: 0, stock: 0 } });
    expect(createProduct.id).toBe(id);
  });
});

describe('product lookups', () => {
  it('returns null for unknown and malformed ids, without a query for a malformed one', async () => {
    setup.database.statements.length = 0;
    const data = await gqlData(setup.url, `{ a: product(id: "NOPE") { id } b: product(id: "not a sku!") { id } }`);
    expect(data).toEqual({ a: null, b: null });
    expect(setup.database.statements).toHaveLength(1);
  });

  it('pages products by id in byte order with an opaque cursor and a totalCount', async () => {
    for (const id of ['p-03', 'p-01', 'b_1', 'B_1', '-1', '_z', 'p-02']) await gqlData(setup.url, CREATE, { input: product(id) });
    const all = await gqlData(setup.url, `{ products(first: 100) { nodes { id } totalCount } }`);
    const ids = all.products.nodes.map((n: { id: string }) => n.id);
    expect(ids).toEqual([...ids].sort((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(all.products.totalCount).toBe(ids.length);

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = await gqlData(
        setup.url,
        `query($after: String) { products(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } totalCount } }`,
        { after },
      );
      expect(page.products.nodes.length).toBeLessThanOrEqual(2);
      seen.push(...page.products.nodes.map((n: { id: string }) => n.id));
      if (!page.products.pageInfo.hasNextPage) break;
      after = page.products.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids);
  });

  it.each([`products(first: 0)`, `products(first: 101)`, `products(after: "garbage")`])('rejects %s with BAD_USER_INPUT', async (field) => {
    const res = await gql(setup.url, `{ ${field} { totalCount } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('restockProduct', () => {
  beforeEach(async () => {
    await setup.database.sql`delete from inventory.stock_movements where product_id = 'R1'`;
    await setup.database.sql`delete from inventory.products where id = 'R1'`;
    await gqlData(setup.url, CREATE, { input: product('R1', 5) });
  });

  it('adds stock and a RESTOCK movement, newest first, keeping stock + reserved = sum of RESTOCKs', async () => {
    await gqlData(setup.url, RESTOCK, { id: 'R1', quantity: 3 });
    const { restockProduct } = await gqlData(setup.url, RESTOCK, { id: 'R1', quantity: 1_000_000 });
    expect(restockProduct.stock).toBe(1_000_008);
    expect(restockProduct.movements).toEqual([
      { kind: 'RESTOCK', quantity: 1_000_000, orderId: null },
      { kind: 'RESTOCK', quantity: 3, orderId: null },
      { kind: 'RESTOCK', quantity: 5, orderId: null },
    ]);
    const [row] = await setup.database.sql`
      select p.stock + p.reserved as held, (select sum(quantity)::int from inventory.stock_movements m where m.product_id = p.id and m.kind = 'RESTOCK') as restocked
      from inventory.products p where p.id = 'R1'`;
    expect(row!.held).toBe(row!.restocked);
  });

  it('limits movements to `first` (1..100)', async () => {
    await gqlData(setup.url, RESTOCK, { id: 'R1', quantity: 2 });
    const { product } = await gqlData(setup.url, `{ product(id: "R1") { movements(first: 1) { quantity } } }`);
    expect(product.movements).toEqual([{ quantity: 2 }]);
    for (const first of [0, 101]) {
      const res = await gql(setup.url, `{ product(id: "R1") { movements(first: ${first}) { quantity } } }`);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
  });

  it.each([0, -5, 1_000_001])('rejects quantity %i with BAD_USER_INPUT on quantity and changes nothing', async (quantity) => {
    const res = await gql(setup.url, RESTOCK, { id: 'R1', quantity });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
    const { product } = await gqlData(setup.url, `{ product(id: "R1") { stock movements { quantity } } }`);
    expect(product).toEqual({ stock: 5, movements: [{ quantity: 5 }] });
  });

  it('fails with NOT_FOUND for an unknown or malformed id', async () => {
    for (const id of ['NO-SUCH', 'bad sku', '']) {
      const res = await gql(setup.url, RESTOCK, { id, quantity: 1 });
      expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('refuses a restock past the largest stock with BAD_USER_INPUT, leaving stock as it was', async () => {
    await setup.database.sql`update inventory.products set stock = 2147483000 where id = 'R1'`;
    const res = await gql(setup.url, RESTOCK, { id: 'R1', quantity: 1_000_000 });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
    const [row] = await setup.database
      .sql`select stock, (select count(*)::int from inventory.stock_movements where product_id = 'R1') as moves from inventory.products where id = 'R1'`;
    expect(row).toEqual({ stock: 2147483000, moves: 1 });
  });
});

describe('federation', () => {
  const ENTITIES = `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { id stock } } }`;

  beforeAll(async () => {
    await setup.database.sql`
      insert into inventory.products (id, name, price_cents, stock)
      select 'ent-' || lpad(i::text, 3, '0'), 'Entity ' || i, i, i from generate_series(1, 100) i`;
    await setup.database.sql`
      insert into inventory.stock_movements (product_id, kind, quantity)
      select 'ent-' || lpad(i::text, 3, '0'), 'RESTOCK', i from generate_series(1, 100) i`;
  });

  it.each([10, 100])('resolves %i Product representations with one SQL statement', async (n) => {
    const representations = Array.from({ length: n }, (_, i) => ({ __typename: 'Product', id: `ent-${String(i + 1).padStart(3, '0')}` }));
    setup.database.statements.length = 0;
    const data = await gqlData(setup.url, ENTITIES, { representations });
    expect(data._entities).toHaveLength(n);
    expect(data._entities[n - 1]).toEqual({ id: representations[n - 1]!.id, stock: n });
    expect(setup.database.statements).toHaveLength(1);
  });

  it('resolves movements of 100 products with one more statement, and null for unknown or malformed keys', async () => {
    const representations = [
      ...Array.from({ length: 100 }, (_, i) => ({ __typename: 'Product', id: `ent-${String(i + 1).padStart(3, '0')}` })),
      { __typename: 'Product', id: 'missing' },
      { __typename: 'Product', id: 'bad key!' },
    ];
    setup.database.statements.length = 0;
    const data = await gqlData(
      setup.url,
      `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { id movements(first: 5) { kind quantity } } } }`,
      {
        representations,
      },
    );
    expect(data._entities[41]).toEqual({ id: 'ent-042', movements: [{ kind: 'RESTOCK', quantity: 42 }] });
    expect(data._entities.slice(100)).toEqual([null, null]);
    expect(setup.database.statements).toHaveLength(2);
  });
});
