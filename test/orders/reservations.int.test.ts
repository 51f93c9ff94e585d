import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_KEY_HEADER } from '../../common/auth.ts';
import { parseConfig } from '../../scripts/settings.ts';
import { listen, type Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { createInventorySubgraph } from '../../subgraphs/inventory/server.ts';
import { InventoryClient, InventoryUnavailableError } from '../../workers/orders/inventory-client.ts';
import { reserveRequests } from '../../workers/orders/metrics.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { gql, gqlData } from '../support/graphql.ts';
import { startRecordingProxy, type RecordingProxy } from '../support/recording-proxy.ts';
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
  await gqlData(
    url,
    `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`,
    { input: { id, name: id, priceCents: 100, stock } },
    admin,
  );
  return id;
}

async function stockOf(id: string) {
  const [row] = await db.sql`select stock, reserved from inventory.products where id = ${id}`;
  const movements = await db.sql`select kind, quantity, order_id from inventory.stock_movements where product_id = ${id} and kind <> 'RESTOCK' order by id`;
  return { stock: row!.stock as number, reserved: row!.reserved as number, movements: movements.map((m) => `${m.kind}:${m.quantity}:${m.order_id}`) };
}

const reserve = (orderId: string, productId: string, quantity: number) =>
  gqlData(url, RESERVE, { orderId, productId, quantity }, service).then((d) => d.reserveStock);
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

const RESERVE_BATCH = `mutation($inputs: [ReserveStockInput!]!) { reserveStocks(inputs: $inputs) { orderId outcome productId quantity applied } }`;

describe('reserveStocks', () => {
  it("reserves each input as reserveStock does, in the inputs' order, each with its own outcome; repeats return the first", async () => {
    const id = await product(2);
    const orders = Array.from({ length: 4 }, () => randomUUID());
    const inputs = [
      ...orders.map((orderId) => ({ orderId, productId: id, quantity: 1 })),
      { orderId: randomUUID(), productId: 'NO-SUCH-PRODUCT', quantity: 1 },
    ];
    const first = (await gqlData(url, RESERVE_BATCH, { inputs }, service)).reserveStocks;
    expect(first.map((r: { orderId: string }) => r.orderId)).toEqual(inputs.map((i) => i.orderId));
    expect(first.filter((r: { outcome: string }) => r.outcome === 'RESERVED')).toHaveLength(2);
    expect(first.filter((r: { outcome: string }) => r.outcome === 'OUT_OF_STOCK')).toHaveLength(2);
    expect(first[4]).toMatchObject({ outcome: 'UNKNOWN_PRODUCT', applied: true });
    const again = (await gqlData(url, RESERVE_BATCH, { inputs }, service)).reserveStocks;
    expect(again.map((r: { outcome: string }) => r.outcome)).toEqual(first.map((r: { outcome: string }) => r.outcome));
    for (const r of again) expect(r.applied).toBe(false);
    expect(await stockOf(id)).toMatchObject({ stock: 0, reserved: 2 });
  });

  it('fails one bad input alone: null at its index with BAD_USER_INPUT at ["reserveStocks", i]; the others reserve', async () => {
    const id = await product(5);
    const good = [randomUUID(), randomUUID()];
    const inputs = [
      { orderId: good[0], productId: id, quantity: 1 },
      { orderId: randomUUID(), productId: id, quantity: 0 },
      { orderId: good[1], productId: id, quantity: 2 },
    ];
    const response = await gql(url, RESERVE_BATCH, { inputs }, service);
    expect(response.data.reserveStocks[1]).toBeNull();
    expect(response.data.reserveStocks[0]).toMatchObject({ orderId: good[0], outcome: 'RESERVED' });
    expect(response.data.reserveStocks[2]).toMatchObject({ orderId: good[1], outcome: 'RESERVED', quantity: 2 });
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]).toMatchObject({ path: ['reserveStocks', 1], extensions: { code: 'BAD_USER_INPUT', field: 'quantity' } });
    expect(await stockOf(id)).toMatchObject({ stock: 2, reserved: 3 });
  });

  it('takes 1..100 inputs, only from the service key or an admin; nothing moves otherwise', async () => {
    const id = await product(5);
    const one = { orderId: randomUUID(), productId: id, quantity: 1 };
    expect((await gql(url, RESERVE_BATCH, { inputs: [] }, service)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'inputs' });
    const tooMany = Array.from({ length: 101 }, () => ({ ...one, orderId: randomUUID() }));
    expect((await gql(url, RESERVE_BATCH, { inputs: tooMany }, service)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'inputs' });
    expect((await gql(url, RESERVE_BATCH, { inputs: [one] })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql(url, RESERVE_BATCH, { inputs: [one] }, { [SERVICE_KEY_HEADER]: 'not-the-service-key' })).errors?.[0]?.extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
    expect(await stockOf(id)).toMatchObject({ stock: 5, reserved: 0 });
    expect((await gqlData(url, RESERVE_BATCH, { inputs: [one] }, admin)).reserveStocks[0].outcome).toBe('RESERVED');
  });
});

describe('InventoryClient batching', () => {
  let proxy: RecordingProxy;
  const clients: InventoryClient[] = [];
  const logger = createLogger('reservations-test', 'silent');

  beforeAll(async () => {
    proxy = await startRecordingProxy(http.url);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await proxy.close();
  });

  /** A client of inventory through the proxy, which counts its requests. */
  function client(options: { timeoutMs?: number; batchWindowMs?: number; batchMax?: number; env?: Record<string, string> } = {}) {
    const made = new InventoryClient({
      url: `${proxy.url}/graphql`,
      timeoutMs: options.timeoutMs ?? 3000,
      serviceKey: SERVICE_KEY,
      config: parseConfig({ BREAKER_VOLUME_THRESHOLD: '1000', ...options.env }),
      logger,
      ...(options.batchWindowMs === undefined ? {} : { batchWindowMs: options.batchWindowMs }),
      ...(options.batchMax === undefined ? {} : { batchMax: options.batchMax }),
    });
    clients.push(made);
    return made;
  }
  /** The GraphQL requests the proxy has passed on since `from`, with the inputs of each. */
  const requestsSince = (from: number) =>
    proxy.exchanges
      .slice(from)
      .filter((e) => e.path === '/graphql')
      .map((e) => ({ headers: e.requestHeaders, inputs: (JSON.parse(e.body).variables.inputs ?? []) as { orderId: string; requestId?: string }[] }));
  const settle = <T>(p: Promise<T>) =>
    p.then(
      (v) => v as T | string,
      (error) => (error instanceof InventoryUnavailableError ? 'UNAVAILABLE' : ((error as { code?: string }).code ?? String(error))),
    );

  it('sends reservations asked for together as one request, each order with its own outcome', async () => {
    const c = client();
    const id = await product(8);
    const from = proxy.exchanges.length;
    const requestsCounted = async () => (await reserveRequests.get()).values[0]!.value;
    const countedBefore = await requestsCounted();
    const orders = Array.from({ length: 10 }, () => randomUUID());
    const results = await Promise.all([
      ...orders.slice(0, 8).map((orderId, i) => c.reserve(orderId, id, 1, { requestId: `req-${i}`, correlationId: `corr-${i}` })),
      c.reserve(orders[8]!, id, 1, { requestId: 'req-8' }),
      c.reserve(orders[9]!, 'NO-SUCH-PRODUCT', 1, { requestId: 'req-9' }),
    ]);
    // Eight units for nine orders of the product: one is out of stock, whichever it is.
    expect(results.slice(0, 9).filter((r) => r === 'RESERVED')).toHaveLength(8);
    expect(results.slice(0, 9).filter((r) => r === 'OUT_OF_STOCK')).toHaveLength(1);
    expect(results[9]).toBe('UNKNOWN_PRODUCT');
    const requests = requestsSince(from);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.inputs.map((i) => i.orderId)).toEqual(orders);
    // Each order's ids ride with its input; the request carries the first order's.
    expect(requests[0]!.inputs.map((i) => i.requestId)).toEqual(orders.map((_, i) => `req-${i}`));
    expect(requests[0]!.headers['x-request-id']).toBe('req-0');
    expect(await stockOf(id)).toMatchObject({ stock: 0, reserved: 8 });
    // The breaker counts each order, as before batching; /metrics counts the one request.
    expect(c.breaker.circuit.stats).toMatchObject({ fires: 10, successes: 10, failures: 0 });
    expect((await requestsCounted()) - countedBefore).toBe(1);
    // A repeat of every order, batched again: the first outcomes, nothing moves.
    const again = await Promise.all(orders.map((orderId, i) => c.reserve(orderId, i === 9 ? 'NO-SUCH-PRODUCT' : id, 1)));
    expect(again).toEqual(results);
    expect(await stockOf(id)).toMatchObject({ stock: 0, reserved: 8 });
  });

  it('splits at batchMax, and gathers calls made up to batchWindowMs apart', async () => {
    const c = client({ batchMax: 4, batchWindowMs: 30 });
    const id = await product(20);
    const from = proxy.exchanges.length;
    const calls = Array.from({ length: 5 }, () => c.reserve(randomUUID(), id, 1));
    // Time passes on purpose: less than batchWindowMs, so the sixth call joins the second batch.
    await new Promise((resolve) => setTimeout(resolve, 10));
    calls.push(c.reserve(randomUUID(), id, 1));
    expect(await Promise.all(calls)).toEqual(Array(6).fill('RESERVED'));
    expect(
      requestsSince(from)
        .map((r) => r.inputs.length)
        .sort(),
    ).toEqual([2, 4]);
  });

  it("fails only the order whose input inventory refuses; the others' outcomes stand, and the breaker counts its failure alone", async () => {
    const c = client();
    const id = await product(5);
    const from = proxy.exchanges.length;
    const results = await Promise.all([settle(c.reserve(randomUUID(), id, 1)), settle(c.reserve(randomUUID(), id, 0)), settle(c.reserve(randomUUID(), id, 1))]);
    expect(results).toEqual(['RESERVED', 'UNAVAILABLE', 'RESERVED']);
    expect(requestsSince(from)).toHaveLength(1);
    expect(c.breaker.circuit.stats).toMatchObject({ fires: 3, successes: 2, failures: 1 });
  });

  it('fails every order of a batch that times out as ambiguous, each a breaker failure; the late work still happens and a retry returns it', async () => {
    const c = client({ timeoutMs: 150 });
    const id = await product(10);
    const orders = Array.from({ length: 5 }, () => randomUUID());
    const from = proxy.exchanges.length;
    await fetch(`${http.url}/internal/gremlin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...service },
      body: JSON.stringify({ every: 1, latencyMs: 400 }),
    });
    let results;
    try {
      results = await Promise.all(orders.map((orderId) => settle(c.reserve(orderId, id, 1))));
    } finally {
      await fetch(`${http.url}/internal/gremlin`, { method: 'DELETE', headers: service });
    }
    expect(results).toEqual(Array(5).fill('UNAVAILABLE'));
    expect(c.breaker.circuit.stats).toMatchObject({ fires: 5, failures: 5, successes: 0 });
    // The proxy records a request once inventory answered it, late.
    await expect.poll(() => requestsSince(from).length, { timeout: 3000 }).toBe(1);
    expect(requestsSince(from)[0]!.inputs).toHaveLength(5);
    await expect.poll(async () => (await stockOf(id)).reserved, { timeout: 3000 }).toBe(5);
    // The retries (each order's next attempt; with room to answer on a busy machine) find the reservations made: nothing is taken twice.
    const retry = client();
    expect(await Promise.all(orders.map((orderId) => retry.reserve(orderId, id, 1)))).toEqual(Array(5).fill('RESERVED'));
    expect(await stockOf(id)).toMatchObject({ stock: 5, reserved: 5 });
  });

  it('while half-open sends the trial as one order alone and turns the rest away (EOPENBREAKER), then batches again once closed', async () => {
    const c = client({ env: { BREAKER_RESET_TIMEOUT_MS: '50' } });
    const id = await product(10);
    c.breaker.circuit.open();
    await expect.poll(() => c.breaker.state, { timeout: 2000, interval: 10 }).toBe('HALF_OPEN');
    const from = proxy.exchanges.length;
    // As the processor does: each caller checks admits() and, if so, reserves at once.
    const admitted: boolean[] = [];
    const calls = Array.from({ length: 4 }, () => {
      admitted.push(c.breaker.admits());
      return settle(c.reserve(randomUUID(), id, 1));
    });
    expect(admitted).toEqual([true, false, false, false]);
    expect(await Promise.all(calls)).toEqual(['RESERVED', 'EOPENBREAKER', 'EOPENBREAKER', 'EOPENBREAKER']);
    expect(requestsSince(from).map((r) => r.inputs.length)).toEqual([1]);
    expect(c.breaker.state).toBe('CLOSED');
    expect(await Promise.all([c.reserve(randomUUID(), id, 1), c.reserve(randomUUID(), id, 1)])).toEqual(['RESERVED', 'RESERVED']);
    expect(requestsSince(from).map((r) => r.inputs.length)).toEqual([1, 2]);
  });

  it('opens the breaker after one timed-out batch of BREAKER_VOLUME_THRESHOLD orders, as that many single calls did, so the queue pauses before retries run out', async () => {
    const c = client({ timeoutMs: 150, env: { BREAKER_VOLUME_THRESHOLD: '5' } });
    const id = await product(10);
    const from = proxy.exchanges.length;
    await fetch(`${http.url}/internal/gremlin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...service },
      body: JSON.stringify({ every: 1, latencyMs: 400 }),
    });
    try {
      expect(await Promise.all(Array.from({ length: 5 }, () => settle(c.reserve(randomUUID(), id, 1))))).toEqual(Array(5).fill('UNAVAILABLE'));
    } finally {
      await fetch(`${http.url}/internal/gremlin`, { method: 'DELETE', headers: service });
    }
    expect(c.breaker.state).toBe('OPEN');
    expect(await settle(c.reserve(randomUUID(), id, 1))).toBe('EOPENBREAKER');
    await expect.poll(() => requestsSince(from).length, { timeout: 3000 }).toBe(1);
  });
});

describe('gremlin', () => {
  const gremlin = (method: string, body?: unknown) =>
    fetch(`${http.url}/internal/gremlin`, {
      method,
      headers: { 'content-type': 'application/json', ...service },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('refuses a body that is not {every >= 1, latencyMs >= 0} with 400', async () => {
    for (const body of [
      {},
      { every: 0, latencyMs: 10 },
      { every: 2, latencyMs: -1 },
      { every: 1.5, latencyMs: 1 },
      { every: 2, latencyMs: 10, extra: 1 },
      'x',
    ]) {
      expect((await gremlin('POST', body)).status).toBe(400);
    }
    const broken = await fetch(`${http.url}/internal/gremlin`, { method: 'POST', headers: { 'content-type': 'application/json', ...service }, body: '{' });
    expect(broken.status).toBe(400);
  });

  it('delays every Nth GraphQL request so a client with a shorter timeout gives up, until DELETE', async () => {
    // Two timeouts in four calls must not open the client's breaker here.
    const client = new InventoryClient({
      url,
      timeoutMs: 150,
      serviceKey: SERVICE_KEY,
      config: parseConfig({ BREAKER_VOLUME_THRESHOLD: '1000' }),
      logger: createLogger('reservations-test', 'silent'),
    });
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
