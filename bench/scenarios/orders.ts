/**
 * Orders: placeOrder latency through the gateway at a fixed concurrency, and
 * how fast accepted orders reach a terminal state, with the workers running as
 * a real process of their own (workers/index.ts: outbox relay + order worker)
 * and the gateway and subgraphs in this process, on real PostgreSQL and Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startStack } from '../../test/support/stack.ts';
import { dropQueues, freePort } from '../../test/support/orders.ts';
import { latencyTable, summarize } from '../measure.ts';

export const name = 'orders';

const BACKLOG = 1000;
const ORDERS = 500;
const CONCURRENCY = 16;
const WARMUP = 50;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`;

async function gql(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}): Promise<any> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors?.length) throw new Error(`bench request failed: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function startWorkers(env: Record<string, string>): Promise<ChildProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/index.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, WORKERS_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('workers did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return child;
}

/** Runs `count` calls of `once`, `concurrency` at a time; returns each call's duration in ms. */
async function closedLoop(count: number, concurrency: number, once: (i: number) => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const started = performance.now();
        await once(i);
        samples.push(performance.now() - started);
      }
    }),
  );
  return samples;
}

async function waitUntilTerminal(sql: any, total: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const [row] = await sql`select count(*)::int as n from orders.orders where status in ('CONFIRMED', 'FAILED', 'CANCELLED')`;
    if (row.n >= total) return;
    if (Date.now() > deadline) throw new Error(`only ${row.n} of ${total} orders terminal after 300 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function run(): Promise<string> {
  const prefix = `bench-orders-${randomUUID().slice(0, 8)}`;
  const stack = await startStack('bench_orders', { env: { QUEUE_PREFIX: prefix } });
  let workers: ChildProcess | undefined;
  try {
    const { createUser } = await gql(stack.gatewayUrl, `mutation { createUser(input: { name: "Bench", email: "bench-orders@example.com" }) { id } }`, {});
    const productId = `BENCH-${randomUUID().slice(0, 8)}`;
    await gql(stack.gatewayUrl, `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, {
      input: { id: productId, name: 'Bench product', priceCents: 100, stock: 1_000_000 },
    }, stack.admin);
    // The buyer signs in, as a web app's user does: every request carries a token the gateway and the orders subgraph verify.
    const buyer = await stack.as(createUser.id);
    const place = async () => {
      const data = await gql(stack.gatewayUrl, PLACE, { input: { productId, quantity: 1 } }, buyer);
      if (data.placeOrder.status !== 'PENDING') throw new Error(`placeOrder answered ${data.placeOrder.status}`);
    };
    const workersEnv = {
      DATABASE_URL: stack.db.url,
      REDIS_URL: stack.config.REDIS_URL,
      QUEUE_PREFIX: prefix,
      INVENTORY_URL: stack.urls.inventory!,
      SERVICE_API_KEY: stack.config.SERVICE_API_KEY,
    };

    // A: orders placed while no worker runs (acceptance alone), then a worker process drains the backlog.
    await closedLoop(WARMUP, CONCURRENCY, place);
    const aloneStarted = performance.now();
    const placedAlone = summarize(await closedLoop(BACKLOG, CONCURRENCY, place));
    const aloneMs = performance.now() - aloneStarted;
    const backlog = WARMUP + BACKLOG;
    workers = await startWorkers(workersEnv);
    const drainStarted = performance.now();
    await waitUntilTerminal(stack.db.sql, backlog);
    const drainSeconds = (performance.now() - drainStarted) / 1000;

    // B: orders placed while the worker processes them.
    const started = performance.now();
    const placedBusy = summarize(await closedLoop(ORDERS, CONCURRENCY, place));
    const accepted = performance.now();
    await waitUntilTerminal(stack.db.sql, backlog + ORDERS);
    const finished = performance.now();

    const [outcome] = await stack.db.sql`
      select count(*) filter (where status = 'CONFIRMED')::int as confirmed, count(*)::int as total, sum(attempts)::int as attempts
      from orders.orders`;
    const toTerminal = await stack.db.sql`
      select extract(epoch from (h.at - o.created_at)) * 1000 as ms
      from orders.orders o join orders.order_status_changes h on h.order_id = o.id and h.status = o.status
      order by o.created_at offset ${backlog}`;
    const terminal = summarize(toTerminal.map((row) => Number(row.ms)));
    const [product] = await stack.db.sql`select stock, reserved from inventory.products where id = ${productId}`;
    if (outcome!.confirmed !== outcome!.total || product!.reserved !== outcome!.total) {
      throw new Error(`bench run inconsistent: ${JSON.stringify({ outcome, product })}`);
    }

    const seconds = (finished - started) / 1000;
    const perSecond = (n: number, ms: number) => (n / (ms / 1000)).toFixed(0);
    return [
      '## Orders',
      '',
      `Orders of 1 unit for one product, placed through the gateway by ${CONCURRENCY} concurrent clients in a closed loop. The gateway and`,
      'the subgraphs share the bench process; the workers (outbox relay + order worker, default ORDER_CONCURRENCY and',
      'INVENTORY_TIMEOUT_MS) run as their own process from workers/index.ts. Real PostgreSQL and Redis.',
      `All ${outcome!.total} orders ended CONFIRMED after ${outcome!.attempts} processing attempts in all, with reserved = ${product!.reserved}.`,
      '',
      '### placeOrder latency (answered PENDING)',
      '',
      latencyTable([
        { label: `${BACKLOG} orders, no worker running`, latency: placedAlone, extra: { 'accepted/s': perSecond(BACKLOG, aloneMs) } },
        { label: `${ORDERS} orders, worker processing meanwhile`, latency: placedBusy, extra: { 'accepted/s': perSecond(ORDERS, accepted - started) } },
      ]).replace('req/s (sequential)', 'req/s (one client)'),
      '',
      '### Orders to a terminal state',
      '',
      `- backlog: ${backlog} PENDING orders (outbox rows) drained by a freshly started worker process in ${drainSeconds.toFixed(2)} s: **${(backlog / drainSeconds).toFixed(0)} orders/s**`,
      `- steady: ${ORDERS} orders from the first placeOrder to the last CONFIRMED in ${seconds.toFixed(2)} s: **${(ORDERS / seconds).toFixed(0)} orders/s** end to end;`,
      `  the last became terminal ${((finished - accepted) / 1000).toFixed(2)} s after the last was accepted`,
      `- steady, placement to terminal state per order (from its history): p50 ${terminal.p50.toFixed(0)} ms, p90 ${terminal.p90.toFixed(0)} ms, p99 ${terminal.p99.toFixed(0)} ms, max ${terminal.max.toFixed(0)} ms`,
      '',
      'Command: `npm run bench -- orders`.',
    ].join('\n');
  } finally {
    if (workers && workers.exitCode === null) {
      const exited = new Promise((resolve) => workers!.once('exit', resolve));
      workers.kill('SIGTERM');
      await exited;
    }
    await stack.close();
    await dropQueues(stack.config.REDIS_URL, prefix);
  }
}
