/**
 * What one order makes Junction do, counted (not timed, so a loaded machine
 * does not change it): SQL statements and rows (pg_stat_statements), Redis
 * commands (INFO commandstats), HTTP requests between processes (/metrics and
 * the provider's log), log lines at LOG_LEVEL (info by default), BullMQ jobs
 * and what Redis keeps of them, per order and by process.
 *
 *   npx tsx bench/count-orders.ts [dist]
 *
 * The compiled system (bench/system.ts, `npm run build` first) on a
 * PostgreSQL cluster and a redis-server of its own (so every statement and
 * command counted is this system's): a warm-up, then placeOrder by
 * BENCH_ORDERS_CLIENTS (50) clients for BENCH_COUNT_SECONDS (8) with no
 * workers ("accepting"), then the workers drain that backlog, notifications
 * included ("processing"). The bench's own queries (waiting for the orders)
 * are left out of the counts. Prints Markdown.
 */
import { Redis } from 'ioredis';
import { CLIENTS, openOrders, placedSoFar, placeOrders, setUp, type Setup } from './orders.ts';
import { PrivatePostgres } from '../test/support/postgres.ts';
import { PrivateRedis } from '../test/support/orders.ts';

const SECONDS = Number(process.env.BENCH_COUNT_SECONDS ?? 8);
const QUEUES = ['orders', 'notification-events', 'notifications'];
/** The bench's own statements (waiting for orders, reading counters): not the system's work. */
const BENCH_QUERY = /pg_stat_statements|pg_stat_activity|pg_stat_database|count\(\*\)::int as n from (orders\.orders|notifications\.notifications)/;

interface Counts {
  statements: Map<string, { calls: number; rows: number; ms: number }>;
  redis: Map<string, number>;
  http: Map<string, number>;
  logs: Map<string, Map<string, number>>;
  cpu: Record<string, number>;
  redisMemory: number;
  redisKeys: number;
  /** INFO stats: reads and writes the server processed (about one per round trip), bytes in and out. */
  redisIo: Record<string, number>;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function sentCount(setup: Setup): Promise<number> {
  const [row] = await setup.system.db.sql`select count(*)::int as n from notifications.notifications where type = 'ORDER_CONFIRMED' and status = 'SENT'`;
  return row!.n;
}

/** Sums of each metric line `name{…}` by the label values asked for. */
function sumMetric(text: string, metric: string, label: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const key = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? '';
    sums.set(key, (sums.get(key) ?? 0) + value);
  }
  return sums;
}

async function httpCounts(setup: Setup): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const [name, service] of setup.system.services) {
    if (name === 'external') {
      const messages = (await fetch(`${service.base}/messages`).then((r) => r.json())) as { requests: number }[];
      counts.set(
        'workers → provider (POST /messages)',
        messages.reduce((sum, m) => sum + m.requests, 0),
      );
      continue;
    }
    if (name === 'workers') continue;
    const text = await fetch(`${service.base}/metrics`).then((r) => (r.ok ? r.text() : ''));
    if (name === 'gateway') {
      for (const [, n] of sumMetric(text, 'junction_gateway_requests_total', 'operation'))
        counts.set('client → gateway', (counts.get('client → gateway') ?? 0) + n);
    } else {
      for (const [operation, n] of sumMetric(text, 'junction_subgraph_requests_total', 'operation')) counts.set(`→ ${name} (${operation})`, n);
    }
  }
  return counts;
}

async function read(setup: Setup, redis: Redis): Promise<Counts> {
  const { system } = setup;
  const statements = new Map<string, { calls: number; rows: number; ms: number }>();
  const rows = await system.db.sql`
    select query, toplevel, calls::int, rows::int, total_exec_time::float8 as ms from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = ${system.db.name}`;
  for (const row of rows) {
    if (BENCH_QUERY.test(row.query)) continue;
    const query = `${row.toplevel ? '' : '(nested) '}${row.query.replace(/\s+/g, ' ').slice(0, 160)}`;
    const known = statements.get(query) ?? { calls: 0, rows: 0, ms: 0 };
    statements.set(query, { calls: known.calls + row.calls, rows: known.rows + row.rows, ms: known.ms + row.ms });
  }
  const redisCounts = new Map<string, number>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) redisCounts.set(match[1]!, Number(match[2]));
  }
  const memory = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
  const stats = await redis.info('stats');
  const redisIo = Object.fromEntries(
    ['total_reads_processed', 'total_writes_processed', 'total_net_input_bytes', 'total_net_output_bytes'].map((name) => [
      name,
      Number(new RegExp(`${name}:(\\d+)`).exec(stats)?.[1] ?? Number.NaN),
    ]),
  );
  const logs = new Map([...system.logLines].map(([name, counts]) => [name, new Map(counts)]));
  return {
    statements,
    redis: redisCounts,
    http: await httpCounts(setup),
    logs,
    cpu: await system.cpuMs(),
    redisMemory: memory,
    redisKeys: await redis.dbsize(),
    redisIo,
  };
}

async function reset(setup: Setup, redis: Redis): Promise<Counts> {
  await setup.system.db.sql`select pg_stat_statements_reset()`;
  await redis.config('RESETSTAT');
  return read(setup, redis);
}

function minus(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  return new Map([...a].map(([key, n]) => [key, n - (b.get(key) ?? 0)]).filter(([, n]) => (n as number) !== 0) as [string, number][]);
}

const f = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2));

function report(label: string, before: Counts, after: Counts, orders: number): string {
  const out: string[] = [`### ${label}: ${orders} orders`, ''];
  const statements = [...after.statements].sort((a, b) => b[1].calls - a[1].calls);
  const sum = (nested: boolean, pick: (s: { calls: number; rows: number; ms: number }) => number) =>
    statements.filter(([query]) => query.startsWith('(nested)') === nested).reduce((total, [, s]) => total + pick(s), 0);
  out.push(
    `SQL: **${f(sum(false, (s) => s.calls) / orders)} statements** sent (${f(sum(false, (s) => s.rows) / orders)} rows) and ${f(sum(true, (s) => s.calls) / orders)} run inside them (triggers, foreign keys: ${f(sum(true, (s) => s.rows) / orders)} rows) per order`,
    '',
    "| statement | calls/order | rows/order | share of the statements' execution time (a statement's includes what runs inside it) |",
    '| --- | --- | --- | --- |',
  );
  for (const [query, s] of statements)
    if (s.calls / orders >= 0.005)
      out.push(
        `| \`${query.replace(/\|/g, '\\|')}\` | ${f(s.calls / orders)} | ${f(s.rows / orders)} | ${((s.ms / sum(false, (t) => t.ms)) * 100).toFixed(0)}% |`,
      );
  const redis = minus(after.redis, before.redis);
  const commands = [...redis.values()].reduce((a, b) => a + b, 0);
  out.push(
    '',
    `Redis: **${f(commands / orders)} commands** per order (${[...redis]
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${f(n / orders)}`)
      .join(', ')}); ` +
      `${f((after.redisIo.total_reads_processed! - before.redisIo.total_reads_processed!) / orders)} reads (round trips) and ${f((after.redisIo.total_writes_processed! - before.redisIo.total_writes_processed!) / orders)} writes by the server, ` +
      `${f((after.redisIo.total_net_input_bytes! - before.redisIo.total_net_input_bytes!) / orders)} bytes in and ${f((after.redisIo.total_net_output_bytes! - before.redisIo.total_net_output_bytes!) / orders)} out; ` +
      `memory ${f((after.redisMemory - before.redisMemory) / orders)} bytes and ${f((after.redisKeys - before.redisKeys) / orders)} keys more per order`,
  );
  const http = minus(after.http, before.http);
  out.push('', `HTTP between processes per order: ${[...http].map(([k, n]) => `${k} ${f(n / orders)}`).join(', ') || 'none'}`);
  const logParts: string[] = [];
  for (const [name, counts] of after.logs) {
    const delta = minus(counts, before.logs.get(name) ?? new Map());
    const total = [...delta.values()].reduce((a, b) => a + b, 0);
    if (total === 0) continue;
    logParts.push(
      `${name} ${f(total / orders)} (${[...delta]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([m, n]) => `"${m}" ${f(n / orders)}`)
        .join(', ')})`,
    );
  }
  out.push('', `Log lines per order: ${logParts.join('; ') || 'none'}`);
  const cpu = Object.entries(after.cpu)
    .map(([name, ms]) => [name, (ms - (before.cpu[name] ?? 0)) / orders] as const)
    .filter(([, ms]) => ms > 0.005);
  out.push('', `CPU ms per order (loaded machine: indicative only): ${cpu.map(([n, ms]) => `${n} ${ms.toFixed(2)}`).join(', ')}`);
  return out.join('\n');
}

async function main(): Promise<void> {
  const dist = process.argv[2];
  const pg = await PrivatePostgres.start({ shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' });
  const redisServer = await PrivateRedis.start();
  const redis = new Redis(redisServer.url);
  let setup: Setup | undefined;
  try {
    const admin = (await import('postgres')).default(pg.adminUrl, { max: 1, onnotice: () => {} });
    await admin`create extension if not exists pg_stat_statements`;
    await admin.end();
    setup = await setUp('count', { dist, adminUrl: pg.adminUrl, env: { REDIS_URL: redisServer.url }, countLogLines: true });
    await setup.system.db.sql`create extension if not exists pg_stat_statements`;
    const { system } = setup;
    // Warm-up: a few orders through everything, then the workers stop.
    await placeOrders(setup, 2);
    await system.startWorkers();
    await waitFor(async () => (await openOrders(system)) === 0);
    const warm = await placedSoFar(system);
    await waitFor(async () => (await sentCount(setup!)) >= warm);
    await system.stop('workers');

    const beforeAccepting = await reset(setup, redis);
    const placed = await placeOrders(setup, SECONDS);
    const accepted = placed.latencies.length;
    const afterAccepting = await read(setup, redis);

    const beforeProcessing = await reset(setup, redis);
    await system.startWorkers();
    await waitFor(async () => (await openOrders(system)) === 0);
    const all = await placedSoFar(system);
    await waitFor(async () => (await sentCount(setup!)) >= all);
    const afterProcessing = await read(setup, redis);
    const jobs: string[] = [];
    for (const queue of QUEUES) {
      const prefix = `${system.env.QUEUE_PREFIX}:${queue}`;
      jobs.push(`${queue}: ${await redis.zcard(`${prefix}:completed`)} completed kept, ${await redis.llen(`${prefix}:wait`)} waiting`);
    }
    console.log(
      [
        `## Counts per order (${CLIENTS} clients, ${SECONDS} s of placeOrder, then the workers drain; ${new Date().toISOString()}, load average ${(
          await import('node:os')
        )
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')})`,
        '',
        report('accepting (placeOrder, no workers)', beforeAccepting, afterAccepting, accepted),
        '',
        report('processing (the workers drain the backlog, notifications SENT; the workers start-up included)', beforeProcessing, afterProcessing, accepted),
        '',
        `BullMQ, after all (${all} orders): ${jobs.join('; ')}`,
      ].join('\n'),
    );
  } finally {
    await setup?.system.close().catch((error) => console.error(error));
    redis.disconnect();
    await redisServer.stop();
    await pg.destroy();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
