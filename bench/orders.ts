/**
 * The parts of the orders bench (bench/scenarios/orders.ts) that
 * bench/compare-orders.ts shares: the system with a product and signed-in
 * buyers, placing orders, what each order cost, and the consistency checks.
 */
import { runLoad, type Client, type LoadResult } from './load.ts';
import { summarize, type Latency } from './measure.ts';
import { startSystem, type System } from './system.ts';
import { createProduct, createUser } from '../test/support/orders.ts';

export const CLIENTS = Number(process.env.BENCH_ORDERS_CLIENTS ?? 50);
export const STOCK = 10_000_000;

const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }';

export interface Terminal {
  /** Orders that became terminal per second within the window. */
  terminalPerSecond: number;
  /** Orders accepted per second within the window. */
  acceptedPerSecond: number;
  /** Orders accepted and not yet terminal at the window's start and end. */
  backlogAtStart: number;
  backlogAtEnd: number;
  /** Placement → terminal state of the orders placed within the window (ms). */
  toTerminal: Latency;
}

/** Rates and backlog of [from, to] (ms since the epoch), from the orders' history rows. */
export async function terminalWindow(system: System, from: number, to: number): Promise<Terminal> {
  const sql = system.db.sql;
  const [start, end] = [new Date(from).toISOString(), new Date(to).toISOString()];
  const [row] = await sql`
    with terminal as (
      select order_id, min(at) as at from orders.order_status_changes
      where status in ('CONFIRMED', 'FAILED', 'CANCELLED') group by order_id)
    select
      (select count(*)::int from terminal where at >= ${start}::timestamptz and at < ${end}::timestamptz) as terminal,
      (select count(*)::int from orders.orders where created_at >= ${start}::timestamptz and created_at < ${end}::timestamptz) as accepted,
      (select count(*)::int from orders.orders o left join terminal t on t.order_id = o.id
        where o.created_at < ${start}::timestamptz and (t.at is null or t.at >= ${start}::timestamptz)) as backlog_start,
      (select count(*)::int from orders.orders o left join terminal t on t.order_id = o.id
        where o.created_at < ${end}::timestamptz and (t.at is null or t.at >= ${end}::timestamptz)) as backlog_end`;
  const times = await sql`
    select extract(epoch from (t.at - o.created_at)) * 1000 as ms
    from orders.orders o join (
      select order_id, min(at) as at from orders.order_status_changes
      where status in ('CONFIRMED', 'FAILED', 'CANCELLED') group by order_id) t on t.order_id = o.id
    where o.created_at >= ${start}::timestamptz and o.created_at < ${end}::timestamptz`;
  const seconds = (to - from) / 1000;
  return {
    terminalPerSecond: row!.terminal / seconds,
    acceptedPerSecond: row!.accepted / seconds,
    backlogAtStart: row!.backlog_start,
    backlogAtEnd: row!.backlog_end,
    toTerminal: summarize(times.map((t) => Number(t.ms))),
  };
}

export async function openOrders(system: System): Promise<number> {
  const [row] = await system.db.sql`select count(*)::int as n from orders.orders where status in ('PENDING', 'PROCESSING')`;
  return row!.n;
}

export async function untilNoOpenOrders(system: System, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await openOrders(system)) > 0) {
    if (Date.now() > deadline) throw new Error(`orders still open after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Every ORDER_CONFIRMED notification SENT (or until the deadline); returns how long it took after `since`. */
export async function untilNotified(system: System, orders: number, since: number, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await system.db.sql`select count(*)::int as n from notifications.notifications where type = 'ORDER_CONFIRMED' and status = 'SENT'`;
    if (row!.n >= orders) return Date.now() - since;
    if (Date.now() > deadline) throw new Error(`only ${row!.n} of ${orders} ORDER_CONFIRMED notifications SENT after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface Setup {
  system: System;
  productId: string;
  clients: Client[];
}

/** Starts the system, a product with ample stock and CLIENTS buyers each signed in as themselves. */
export async function setUp(label: string, options: Parameters<typeof startSystem>[1] = {}): Promise<Setup> {
  const system = await startSystem(label, {
    ...options,
    // A limit that still counts every request in Redis (as production does) but never binds: 50 buyers ordering flat out.
    env: { RATE_LIMIT_PER_MINUTE: '1000000', ...options.env },
  });
  const admin = await system.identity.headers('bench-admin', ['admin']);
  const productId = await createProduct(system.gatewayUrl, STOCK, admin);
  const clients: Client[] = [];
  for (let i = 0; i < CLIENTS; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, CLIENTS - i) }, () => createUser(system.gatewayUrl)));
    for (const id of batch) clients.push({ headers: await system.identity.headers(id) });
  }
  return { system, productId, clients };
}

/** Places orders for `seconds`, closed loop or at `rate`; throws when any failed. */
export async function placeOrders({ system, productId, clients }: Setup, seconds: number, rate?: number): Promise<LoadResult> {
  const body = JSON.stringify({ query: PLACE, variables: { input: { productId, quantity: 1 } } });
  const result = await runLoad({
    url: system.gatewayUrl,
    clients,
    body: () => body,
    check: (answer: any) => answer?.data?.placeOrder?.status === 'PENDING',
    seconds,
    rate,
  });
  if (result.failed > 0) throw new Error(`${result.failed} placeOrder requests failed; the first: ${result.firstFailure}`);
  return result;
}

/** Every order CONFIRMED after one attempt, reserved = orders, stock + reserved = initial; returns the order count. */
export async function checkConsistency(system: System, productId: string): Promise<{ orders: number; attempts: number }> {
  const [outcome] = await system.db.sql`
    select count(*) filter (where status = 'CONFIRMED')::int as confirmed, count(*)::int as total, sum(attempts)::int as attempts from orders.orders`;
  const [product] = await system.db.sql`select stock, reserved from inventory.products where id = ${productId}`;
  const [reservations] = await system.db.sql`select count(*)::int as n from inventory.reservations where kind = 'RESERVE' and outcome = 'RESERVED'`;
  const problems = [
    outcome!.confirmed !== outcome!.total && `${outcome!.total - outcome!.confirmed} orders not CONFIRMED`,
    outcome!.attempts !== outcome!.total && `${outcome!.attempts} attempts for ${outcome!.total} orders`,
    product!.reserved !== outcome!.total && `reserved ${product!.reserved} for ${outcome!.total} orders`,
    product!.stock + product!.reserved !== STOCK && `stock ${product!.stock} + reserved ${product!.reserved} is not ${STOCK}`,
    reservations!.n !== outcome!.total && `${reservations!.n} reservations for ${outcome!.total} orders`,
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`bench run inconsistent: ${problems.join('; ')}`);
  return { orders: outcome!.total, attempts: outcome!.attempts };
}

/** Each ORDER_CONFIRMED reached the provider exactly once (one delivery per key, one request each). */
export async function checkDeliveries(system: System, orders: number): Promise<void> {
  const deliveries = (await fetch(`${system.services.get('external')!.base}/messages`).then((r) => r.json())) as {
    body: { type?: string };
    requests: number;
  }[];
  const [row] = await system.db
    .sql`select count(*)::int as n, count(distinct event_id)::int as distinct from notifications.notifications where type = 'ORDER_CONFIRMED'`;
  const repeated = deliveries.filter((d) => d.requests !== 1).length;
  if (row!.n !== orders || row!.distinct !== orders || deliveries.length < orders || repeated > 0) {
    throw new Error(
      `notifications inconsistent: ${row!.n} ORDER_CONFIRMED rows (${row!.distinct} distinct) for ${orders} orders, ${deliveries.length} deliveries, ${repeated} sent more than once`,
    );
  }
}

export interface Snapshot {
  /** When the CPU times were read (ms since the epoch). */
  at: number;
  cpu: Record<string, number>;
  db: { commits: number; inserted: number; updated: number };
}

/**
 * How long PostgreSQL may take to count a backend's commits in
 * pg_stat_database: a busy backend reports at most every second, an idle one
 * within 10 s (PGSTAT_IDLE_INTERVAL).
 */
export const STATS_SETTLE_MS = 11_000;

/** CPU used so far, and PostgreSQL's counters `settleMs` later (STATS_SETTLE_MS when nothing runs meanwhile, so they are complete). */
export async function snapshot(system: System, settleMs = 0): Promise<Snapshot> {
  const at = Date.now();
  const cpu = await system.cpuMs();
  const own = process.cpuUsage();
  cpu.bench = (own.user + own.system) / 1000;
  if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
  return { at, cpu, db: await system.dbCounters() };
}

/** Orders placed one at a time on a system with nothing else to do: placement to PROCESSING (the relay woken by NOTIFY, the worker's pickup) and to CONFIRMED, from their history, ms. */
export async function oneAtATime(setup: Setup, count: number): Promise<{ toProcessing: Latency; toTerminal: Latency }> {
  const { system, productId, clients } = setup;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(system.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...clients[0]!.headers },
      body: JSON.stringify({ query: PLACE, variables: { input: { productId, quantity: 1 } } }),
    });
    const id = ((await response.json()) as { data: { placeOrder: { id: string } } }).data.placeOrder.id;
    ids.push(id);
    await untilNoOpenOrders(system);
  }
  const rows = await system.db.sql`
    select extract(epoch from (p.at - o.created_at)) * 1000 as processing, extract(epoch from (c.at - o.created_at)) * 1000 as confirmed
    from orders.orders o
    join orders.order_status_changes p on p.order_id = o.id and p.status = 'PROCESSING'
    join orders.order_status_changes c on c.order_id = o.id and c.status = 'CONFIRMED'
    where o.id = any(${ids}::uuid[])`;
  return { toProcessing: summarize(rows.map((r) => Number(r.processing))), toTerminal: summarize(rows.map((r) => Number(r.confirmed))) };
}

/** Per order between two snapshots: CPU ms by process, commits and rows written. */
export interface Cost {
  label: string;
  orders: number;
  cpu: Record<string, number>;
  commits: number;
  inserted: number;
  updated: number;
}

export function costOf(label: string, before: Snapshot, after: Snapshot, orders: number): Cost {
  const cpu: Record<string, number> = {};
  for (const [name, ms] of Object.entries(after.cpu)) cpu[name] = (ms - (before.cpu[name] ?? 0)) / orders;
  return {
    label,
    orders,
    cpu,
    commits: (after.db.commits - before.db.commits) / orders,
    inserted: (after.db.inserted - before.db.inserted) / orders,
    updated: (after.db.updated - before.db.updated) / orders,
  };
}

const COST_COLUMNS = ['gateway', 'orders', 'inventory', 'users', 'events', 'notifications', 'workers', 'external', 'postgresql', 'redis', 'bench'];

/** CPU ms per order over every process the table shows. */
export function totalCpu(cost: Cost): number {
  return COST_COLUMNS.reduce((sum, name) => sum + (cost.cpu[name] ?? 0), 0);
}

export function costTable(costs: Cost[]): string {
  const head = ['phase', 'orders', ...COST_COLUMNS.map((c) => `${c} ms`), 'total ms', 'commits', 'rows inserted', 'rows updated'];
  const lines = costs.map((c) => {
    const total = totalCpu(c);
    return [
      c.label,
      String(c.orders),
      ...COST_COLUMNS.map((name) => (c.cpu[name] === undefined ? '—' : c.cpu[name]!.toFixed(2))),
      total.toFixed(2),
      c.commits.toFixed(2),
      c.inserted.toFixed(2),
      c.updated.toFixed(2),
    ];
  });
  return [head, head.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export async function placedSoFar(system: System): Promise<number> {
  const [row] = await system.db.sql`select count(*)::int as n from orders.orders`;
  return row!.n;
}
