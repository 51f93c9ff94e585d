import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_KEY_HEADER } from '../../common/auth.ts';
import { parseConfig } from '../../common/config.ts';
import { listen, type Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { createInventorySubgraph } from '../../subgraphs/inventory/server.ts';
import { InventoryClient, InventoryUnavailableError } from '../../workers/orders/inventory-client.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { gql, gqlData } from '../support/graphql.ts';
import { startTestIdentity, type TestIdentity } from '../support/identity.ts';

/** The workers' identity for the internal mutations, as the order worker sends it. */
const SERVICE_KEY = 'reservations-test-service-key';
const service = { [SERVICE_KEY_HEADER]: SERVICE_KEY };
let idp: TestIdentity;
let admin: Record<string, string>;

let db: TestDatabase;
let http: Listening;
let url: string;
let subgraph: Awaited<ReturnType<typeof createInventorySubgraph>>;

beforeAll(async () => {
  db = await createTestDatabase('reservations');
  idp = await startTestIdentity();
  admin = await idp.headers('inventory-admin', ['admin']);
  const config = parseConfig({ NODE_ENV: 'test', SERVICE_API_KEY: SERVICE_KEY, ...idp.env });
  subgraph = await createInventorySubgraph({ db: db.db, config, logger: createLogger('inventory', 'silent') });
  http = await listen(subgraph.app, 0);
  url = `${http.url}/graphql`;
});

afterAll(async () => {
  await subgraph.close();
  await http.close();
  await subgraph.apollo.stop();
  await idp.close();
  await db.drop();
});

const RESERVE = `mutation($orderId: ID!, $productId: ID!, $quantity: Int!) {
  reserveStock(orderId: $orderId, productId: $productId, quantity: $quantity) { orderId outcome productId quantity applied }
}`;
const RELEASE = `mutation($orderId: ID!) { releaseStock(orderId: $orderId) { orderId outcome productId quantity applied } }`;

async function product(stock: number) {
  const id = `P-${randomUUID().slice(0, 8)}`;
  await gqlData(url, `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, { input: { id, name: id, priceCents: 100, stock } }, admin);
  return id;
}

async function stockOf(id: string) {
  const [row] = await db.sql`select stock, reserved from inventory.products where id = ${id}`;
  const movements = await db.sql`select kind, quantity, order_id from inventory.stock_movements where product_id = ${id} and kind <> 'RESTOCK' order by id`;
  return { stock: row!.stock as number, reserved: row!.reserved as number, movements: movements.map((m) => `${m.kind}:${m.quantity}:${m.order_id}`) };
}

const reserve = (orderId: string, productId: string, quantity: number) => gqlData(url, RESERVE, { orderId, productId, quantity }, service).then((d) => d.reserveStock);
const release = (orderId: string) => gqlData(url, RELEASE, { orderId }, service).then((d) => d.releaseStock);

describe('reserveStock / releaseStock', () => {
  it('reserves once per order whatever the repeats, and a repeat returns the first outcome', async () => {
    const id = await product(5);
    const orderId = randomUUID();
    const results = await Promise.all(Array.from({ length: 8 }, () => reserve(orderId, id, 2)));
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    for (const r of results) expect(r).toMatchObject({ orderId, outcome: 'RESERVED', productId: id, quantity: 2 });
    expect(await stockOf(id)).toEqual({ stock: 3, reserved: 2, movements: [`RESERVE:2:${orderId}`] });
  });

  it('never takes stock below zero under concurrent orders, and reports OUT_OF_STOCK and UNKNOWN_PRODUCT', async () => {
    const id = await product(3);
    const results = await Promise.all(Array.from({ length: 10 }, () => reserve(randomUUID(), id, 1)));
    expect(results.filter((r) => r.outcome === 'RESERVED')).toHaveLength(3);
    expect(results.filter((r) => r.outcome === 'OUT_OF_STOCK')).toHaveLength(7);
    expect(await stockOf(id)).toMatchObject({ stock: 0, reserved: 3 });
    expect((await reserve(randomUUID(), 'NO-SUCH-PRODUCT', 1)).outcome).toBe('UNKNOWN_PRODUCT');
  });

  it('releases once: stock back, one RELEASE movement with the order id; repeats change nothing', async () => {
    const id = await product(4);
    const orderId = randomUUID();
    await reserve(orderId, id, 3);
    const results = await Promise.all(Array.from({ length: 6 }, () => release(orderId)));
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    for (const r of results) expect(r).toMatchObject({ outcome: 'RELEASED', productId: id, quantity: 3 });
    expect(await stockOf(id)).toEqual({ stock: 4, reserved: 0, movements: [`RESERVE:3:${orderId}`, `RELEASE:3:${orderId}`] });
    // A reserve after the release (a late retry) returns the first outcome and reserves nothing.
    expect(await reserve(orderId, id, 3)).toMatchObject({ outcome: 'RESERVED', applied: false });
    expect(await stockOf(id)).toMatchObject({ stock: 4, reserved: 0 });
  });

  it('leaves a tombstone when releasing before any reservation, so a late reserve is VOIDED', async () => {
    const id = await product(2);
    const orderId = randomUUID();
    expect(await release(orderId)).toMatchObject({ outcome: 'NOTHING_TO_RELEASE', productId: null, quantity: 0, applied: true });
    expect(await reserve(orderId, id, 1)).toMatchObject({ outcome: 'VOIDED', applied: false });
    expect(await stockOf(id)).toEqual({ stock: 2, reserved: 0, movements: [] });
  });

  it('lets a release racing a reserve of the same order end with nothing held, either way round', async () => {
    const id = await product(50);
    const orders = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all(orders.flatMap((orderId) => [reserve(orderId, id, 1), release(orderId)]));
    expect(await stockOf(id)).toMatchObject({ stock: 50, reserved: 0 });
    const [counts] = await db.sql`
      select count(*) filter (where kind = 'RESERVE')::int as reserves, count(*) filter (where kind = 'RELEASE')::int as releases
      from inventory.stock_movements where product_id = ${id}`;
    expect(counts!.reserves).toBe(counts!.releases);
  });

  it('refuses a malformed order id or quantity with BAD_USER_INPUT', async () => {
    const bad = await gql(url, RESERVE, { orderId: 'nope', productId: 'X', quantity: 1 }, service);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'orderId' });
    const zero = await gql(url, RESERVE, { orderId: randomUUID(), productId: 'X', quantity: 0 }, service);
    expect(zero.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
  });
});

describe('gremlin', () => {
  const gremlin = (method: string, body?: unknown) =>
    fetch(`${http.url}/internal/gremlin`, { method, headers: { 'content-type': 'application/json', ...service }, body: body === undefined ? undefined : JSON.stringify(body) });

  it('refuses a body that is not {every >= 1, latencyMs >= 0} with 400', async () => {
    for (const body of [{}, { every: 0, latencyMs: 10 }, { every: 2, latencyMs: -1 }, { every: 1.5, latencyMs: 1 }, { every: 2, latencyMs: 10, extra: 1 }, 'x']) {
      expect((await gremlin('POST', body)).status).toBe(400);
    }
    const broken = await fetch(`${http.url}/internal/gremlin`, { method: 'POST', headers: { 'content-type': 'application/json', ...service }, body: '{' });
    expect(broken.status).toBe(400);
  });

  it('delays every Nth GraphQL request so a client with a shorter timeout gives up, until DELETE', async () => {
    // Two timeouts in four calls must not open the client's breaker here.
    const client = new InventoryClient({ url, timeoutMs: 150, serviceKey: SERVICE_KEY, config: parseConfig({ BREAKER_VOLUME_THRESHOLD: '1000' }), logger: createLogger('reservations-test', 'silent') });
    const id = await product(10);
    expect((await gremlin('POST', { every: 2, latencyMs: 400 })).status).toBe(200);
    const outcomes = [];
    for (let i = 0; i < 4; i++) {
      outcomes.push(await client.reserve(randomUUID(), id, 1).catch((error) => (error instanceof InventoryUnavailableError ? 'TIMEOUT' : error)));
    }
    expect(outcomes).toEqual(['RESERVED', 'TIMEOUT', 'RESERVED', 'TIMEOUT']);
    expect((await gremlin('DELETE')).status).toBe(200);
    expect(await client.reserve(randomUUID(), id, 1)).toBe('RESERVED');
    expect(await client.reserve(randomUUID(), id, 1)).toBe('RESERVED');
    // The timed-out calls still reserve, late: that is what makes them ambiguous.
    await expect.poll(async () => (await stockOf(id)).reserved, { timeout: 3000 }).toBe(6);
    await client.close();
  });
});
