/**
 * The floor: what each primitive an order's path is made of costs in CPU on
 * this machine, and so the least CPU an order can cost with Junction's design
 * (docs/architecture.md, "Orders" and "Notifications"), against issue 11's budget of
 * 6.7 ms an order (300 orders/s on 2 cores).
 *
 * Each primitive runs between processes of its own (bench/floor-roles.ts,
 * forked), with the production libraries and settings, CONCURRENCY operations
 * in flight, WARMUP unmeasured then N measured; the CPU time (user + system,
 * /proc) of every process involved is read before and after, the client
 * and server sides, the PostgreSQL backends serving the scratch database and
 * the Redis server included, as bench/orders.ts reads them:
 *
 * 1. a BullMQ job end to end: `addJob` of an order `process` job (its declared
 *    options, job id = order id) from one process, a Worker with the order
 *    worker's options (ORDER_CONCURRENCY, the lock, the limiter PAUSABLE sets,
 *    the custom backoff) and a no-op processor in another, on a prefix of its own;
 * 2. an HTTP request/response (JSON both ways) over an undici Pool with
 *    keep-alive, as the order worker calls inventory: to a bare node:http
 *    server, and to Apollo Server 5 on express 5 running a trivial mutation;
 *    and Junction's NotifyProvider (common/partner.ts) to the bare server, as the delivery worker sends;
 * 3. a PostgreSQL write by postgres.js (common/db.ts connect(): a pool of 10,
 *    prepared statements) on a scratch database: one single-row UPDATE as its
 *    own commit (Junction's state changes are single statements), and the same
 *    inside sql.begin (BEGIN, UPDATE, COMMIT), synchronous_commit as the server has it;
 * 4. a request through @apollo/gateway (Junction's SubgraphDataSource: undici
 *    Pool, breaker) to the trivial subgraph: client → gateway → subgraph.
 *
 * Then the floor: each primitive times the count of it one order needs.
 *
 * BENCH_FLOOR_N (default 5000), BENCH_FLOOR_WARMUP (2000), BENCH_FLOOR_CONCURRENCY (20).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { parseConfig } from '../../scripts/settings.ts';
import { machineBusyMs, processCpuMs, redisServerPid } from '../system.ts';
import { dropQueues } from '../../test/support/orders.ts';

export const name = 'floor';

/** Operations measured and unmeasured before, per primitive (measureFloor may be given others). */
const sizes = { n: Number(process.env.BENCH_FLOOR_N ?? 5000), warmup: Number(process.env.BENCH_FLOOR_WARMUP ?? 2000) };
const CONCURRENCY = Number(process.env.BENCH_FLOOR_CONCURRENCY ?? 20);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROLES = fileURLToPath(new URL('../floor-roles.ts', import.meta.url));
const BENCHMARKS = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url));
/** Rows of the scratch table (operation i updates row i mod PG_ROWS). */
const PG_ROWS = 10_000;
const GOAL_RATE = 300;
const BUDGET_MS = (os.availableParallelism() * 1000) / GOAL_RATE;
/** placeOrder's latency goal: p99 at most this with CLIENTS concurrent clients (issue 11). */
const LATENCY_GOAL_MS = 100;
const CLIENTS = 50;

/** One forked role and the messages it sends. */
interface Role {
  name: string;
  child: ChildProcess;
  port?: number;
  /** The next message that has `key`; rejects when the role reports an error or exits. */
  next(key: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

const roles: Role[] = [];

async function start(name: string, role: string, env: Record<string, string> = {}): Promise<Role> {
  const child = fork(ROLES, [role], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'silent', REDIS_URL, FLOOR_CONCURRENCY: String(CONCURRENCY), ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const waiting: { key: string; resolve: (m: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  const fail = (error: Error) => waiting.splice(0).forEach((w) => w.reject(error));
  child.on('message', (message: Record<string, unknown>) => {
    if (message.error) return fail(new Error(`floor role ${name} failed: ${String(message.error)}`));
    const i = waiting.findIndex((w) => w.key in message);
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(message);
  });
  child.on('exit', (code, signal) => fail(new Error(`floor role ${name} exited (${code ?? signal})`)));
  const self: Role = {
    name,
    child,
    next: (key) => new Promise((resolve, reject) => waiting.push({ key, resolve, reject })),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const force = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
  roles.push(self);
  const ready = await self.next('ready');
  if (typeof ready.port === 'number') self.port = ready.port;
  return self;
}

async function stopAll(): Promise<void> {
  await Promise.all(roles.splice(0).map((role) => role.stop()));
}

/** CPU time so far (ms) of each named process, and of the machine as a whole. */
interface Reading {
  at: number;
  machine: number;
  cpu: Record<string, number>;
}

interface Watched {
  /** The role processes by column name. */
  processes: Record<string, Role>;
  /** The backends serving this database are read as `postgresql`, PostgreSQL's own background processes as `pg background`. */
  database?: { admin: postgres.Sql; name: string };
  redis?: number;
}

async function read(watched: Watched): Promise<Reading> {
  const cpu: Record<string, number> = {};
  for (const [column, role] of Object.entries(watched.processes)) cpu[column] = processCpuMs(role.child.pid!);
  if (watched.database) {
    const { admin, name } = watched.database;
    const backends = await admin`select pid from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
    cpu.postgresql = backends.reduce((sum, row) => sum + processCpuMs(row.pid), 0);
    // The WAL writer, checkpointer and background writer: shared by every database of the cluster, shown apart.
    const background = await admin`select pid from pg_stat_activity where backend_type in ('walwriter', 'checkpointer', 'background writer')`;
    cpu['pg background'] = background.reduce((sum, row) => sum + processCpuMs(row.pid), 0);
  }
  if (watched.redis) cpu.redis = processCpuMs(watched.redis);
  return { at: performance.now(), machine: machineBusyMs(), cpu };
}

/** A primitive's cost per operation. */
interface Cost {
  label: string;
  n: number;
  /** Operations per second while measured. */
  rate: number;
  /** CPU ms per operation by column. */
  cpu: Record<string, number>;
  /** Columns not counted in `total` (PostgreSQL's background processes, shared with the cluster). */
  apart: string[];
  /** CPU ms per operation over the counted columns. */
  total: number;
  /** Share of the machine's cores other processes used meanwhile. */
  elsewhere: number;
}

/** Warms up, then measures `n` operations of `run` over the watched processes. */
async function measure(label: string, watched: Watched, run: (n: number) => Promise<void>): Promise<Cost> {
  const N = sizes.n;
  await run(sizes.warmup);
  const before = await read(watched);
  await run(N);
  const after = await read(watched);
  const cpu: Record<string, number> = {};
  for (const column of Object.keys(after.cpu)) cpu[column] = (after.cpu[column]! - (before.cpu[column] ?? 0)) / N;
  const apart = ['pg background'];
  const total = Object.entries(cpu).reduce((sum, [column, ms]) => (apart.includes(column) ? sum : sum + ms), 0);
  const ours = Object.values(cpu).reduce((a, b) => a + b, 0) * N;
  const elapsed = after.at - before.at;
  const elsewhere = Math.max(0, after.machine - before.machine - ours) / (elapsed * os.availableParallelism());
  const cost: Cost = { label, n: N, rate: N / (elapsed / 1000), cpu, apart, total, elsewhere };
  console.log(
    `bench floor: ${label}: ${total.toFixed(3)} ms per operation (${Object.entries(cpu)
      .map(([c, ms]) => `${c} ${ms.toFixed(3)}`)
      .join(', ')}), ${cost.rate.toFixed(0)}/s`,
  );
  return cost;
}

/** `{ load: n }` to a load role; resolves when it is done. */
function load(role: Role, n: number): Promise<unknown> {
  const done = role.next('done');
  role.child.send({ load: n });
  return done;
}

async function bullmqJob(redisPid: number | undefined): Promise<Cost> {
  const prefix = `bench-floor-${randomUUID().slice(0, 8)}`;
  try {
    const [worker, producer] = await Promise.all([
      start('worker', 'bullmq-worker', { FLOOR_PREFIX: prefix }),
      start('producer', 'bullmq-producer', { FLOOR_PREFIX: prefix }),
    ]);
    let completed = 0;
    return await measure('BullMQ job end to end (no-op processor)', { processes: { client: producer, server: worker }, redis: redisPid }, async (n) => {
      completed += n;
      const reached = worker.next('reached');
      worker.child.send({ expect: completed });
      await load(producer, n);
      await reached;
    });
  } finally {
    await stopAll();
    await dropQueues(REDIS_URL, prefix);
  }
}

async function httpRequest(label: string, serverRole: string, clientRole = 'http-client'): Promise<Cost> {
  try {
    const server = await start('server', serverRole);
    const client = await start('client', clientRole, { FLOOR_URL: `http://127.0.0.1:${server.port}/graphql` });
    return await measure(label, { processes: { client, server } }, (n) => load(client, n).then(() => {}));
  } finally {
    await stopAll();
  }
}

async function gatewayRequest(): Promise<Cost> {
  try {
    const subgraph = await start('subgraph', 'apollo-server');
    const gateway = await start('gateway', 'gateway', { FLOOR_URL: `http://127.0.0.1:${subgraph.port}/graphql` });
    const client = await start('client', 'http-client', { FLOOR_URL: `http://127.0.0.1:${gateway.port}/graphql` });
    return await measure('request through @apollo/gateway to the trivial subgraph (mutation)', { processes: { client, server: gateway, subgraph } }, (n) =>
      load(client, n).then(() => {}),
    );
  } finally {
    await stopAll();
  }
}

/** A scratch database with one table of PG_ROWS rows; drop() removes it. */
async function scratchDatabase(): Promise<{ url: string; name: string; admin: postgres.Sql; synchronousCommit: string; drop(): Promise<void> }> {
  const name = `jt_floor_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const setup = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    await setup`create table floor_rows (id int primary key, n bigint not null default 0, updated_at timestamptz not null default now())`;
    await setup`insert into floor_rows (id) select generate_series(1, ${PG_ROWS}::int)`;
    await setup`vacuum analyze floor_rows`;
  } finally {
    await setup.end();
  }
  const [setting] = await admin`show synchronous_commit`;
  return {
    url: url.toString(),
    name,
    admin,
    synchronousCommit: String(setting!.synchronous_commit),
    async drop() {
      try {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}

async function postgresWrite(database: Awaited<ReturnType<typeof scratchDatabase>>, mode: 'statement' | 'transaction'): Promise<Cost> {
  const label =
    mode === 'statement'
      ? 'PostgreSQL commit: one prepared single-row UPDATE (postgres.js)'
      : 'PostgreSQL commit: BEGIN, one prepared single-row UPDATE, COMMIT (postgres.js sql.begin)';
  try {
    const client = await start('client', 'pg-client', { FLOOR_DATABASE_URL: database.url, FLOOR_PG_MODE: mode, FLOOR_PG_ROWS: String(PG_ROWS) });
    return await measure(label, { processes: { client }, database: { admin: database.admin, name: database.name } }, (n) => load(client, n).then(() => {}));
  } finally {
    await stopAll();
  }
}

/** What bench orders last measured an order to cost (its section of BENCHMARKS.md), if it is there. */
function measuredOrderCost(): number | undefined {
  if (!existsSync(BENCHMARKS)) return undefined;
  const match = /an order costs ([\d.]+) ms of CPU/.exec(readFileSync(BENCHMARKS, 'utf8'));
  return match ? Number(match[1]) : undefined;
}

const fmt = (value: number, digits = 2) => value.toFixed(digits);
const COLUMNS = ['client', 'server', 'subgraph', 'postgresql', 'redis'];

function costTable(costs: Cost[]): string {
  const head = ['primitive', 'n', 'per s', ...COLUMNS.map((c) => `${c} ms`), '**total ms**', 'pg background ms (apart)', 'other work on the machine'];
  const lines = costs.map((c) => [
    c.label,
    String(c.n),
    fmt(c.rate, 0),
    ...COLUMNS.map((column) => (c.cpu[column] === undefined ? '—' : fmt(c.cpu[column]!, 3))),
    `**${fmt(c.total, 3)}**`,
    c.cpu['pg background'] === undefined ? '—' : fmt(c.cpu['pg background']!, 3),
    `${fmt(c.elsewhere * 100, 0)}% of the cores`,
  ]);
  return [head, head.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

type CostName = 'job' | 'http' | 'provider' | 'apollo' | 'gateway' | 'statement' | 'transaction';

/** The primitives measured, and the floor they make: the least CPU an order can cost with this design. */
export interface FloorMeasure {
  costs: Record<CostName, Cost>;
  rows: { what: string; count: number; where: string; cost: number }[];
  /** CPU ms per order: in all, accepting (placeOrder through the gateway and its commit), processing (the rest). */
  floorMs: number;
  acceptingMs: number;
  processingMs: number;
  loadBefore: number;
  loadAfter: number;
  synchronousCommit: string;
  config: ReturnType<typeof parseConfig>;
}

/** Measures every primitive (`n` measured after `warmup` unmeasured operations each; BENCH_FLOOR_N and BENCH_FLOOR_WARMUP by default) and the floor. */
export async function measureFloor(options: { n?: number; warmup?: number } = {}): Promise<FloorMeasure> {
  sizes.n = options.n ?? sizes.n;
  sizes.warmup = options.warmup ?? sizes.warmup;
  const N = sizes.n;
  const WARMUP = sizes.warmup;
  const loadBefore = os.loadavg()[0]!;
  const config = parseConfig(process.env);
  const redisPid = await redisServerPid(REDIS_URL);
  const database = await scratchDatabase();
  let costs: Record<CostName, Cost>;
  const synchronousCommit = database.synchronousCommit;
  try {
    console.log(`bench floor: ${WARMUP} warm-up then ${N} measured operations of each primitive, ${CONCURRENCY} in flight …`);
    costs = {
      job: await bullmqJob(redisPid),
      http: await httpRequest('HTTP request/response, undici Pool → bare node:http (JSON)', 'http-server'),
      provider: await httpRequest(
        "HTTP request/response, Junction's NotifyProvider (Partner: undici Agent, breaker) → bare node:http (JSON)",
        'http-server',
        'provider-client',
      ),
      apollo: await httpRequest('HTTP request/response, undici Pool → Apollo Server 5 on express 5, trivial mutation', 'apollo-server'),
      gateway: await gatewayRequest(),
      statement: await postgresWrite(database, 'statement'),
      transaction: await postgresWrite(database, 'transaction'),
    };
  } finally {
    await stopAll();
    await database.drop();
  }
  const loadAfter = os.loadavg()[0]!;

  // One order's path (docs/architecture.md, "Orders" and "Notifications"; the code in subgraphs/orders, workers/):
  // jobs: `orders` process, `notification-events` ORDER_CONFIRMED, `notifications` delivery;
  // HTTP: the client's placeOrder through the gateway to the orders subgraph, the worker's reserveStock to inventory,
  // the delivery's POST /messages to the provider;
  // commits: placeOrder (order + outbox), PENDING → PROCESSING, inventory's reservation, CONFIRMED (+ outbox),
  // the notification recorded (the events worker then adds the delivery job itself), its attempt, SENT; the relay's batches come on top (one per batch of rows, not per order).
  const COMMITS = 7;
  const floor = [
    {
      what: 'BullMQ job end to end',
      count: 3,
      where: '`orders` (process), `notification-events` (ORDER_CONFIRMED), `notifications` (delivery)',
      cost: costs.job.total,
    },
    { what: 'request through @apollo/gateway to a subgraph', count: 1, where: 'placeOrder: client → gateway → orders subgraph', cost: costs.gateway.total },
    { what: 'HTTP request to Apollo Server (mutation)', count: 1, where: 'the order worker → inventory (reserveStock)', cost: costs.apollo.total },
    { what: 'HTTP request to a bare server', count: 1, where: 'the delivery → the provider (POST /messages)', cost: costs.http.total },
    {
      what: 'PostgreSQL commit (one single-row statement)',
      count: COMMITS,
      where: 'placeOrder; PROCESSING; the reservation; CONFIRMED; recorded; attempt; SENT (the relay batches not counted)',
      cost: costs.statement.total,
    },
  ];
  const floorMs = floor.reduce((sum, row) => sum + row.count * row.cost, 0);
  const acceptingMs = costs.gateway.total + costs.statement.total;
  return { costs, rows: floor, floorMs, acceptingMs, processingMs: floorMs - acceptingMs, loadBefore, loadAfter, synchronousCommit, config };
}

export async function run(): Promise<string> {
  const { costs, rows: floor, floorMs, loadBefore, loadAfter, synchronousCommit, config } = await measureFloor();
  const N = sizes.n;
  const WARMUP = sizes.warmup;
  const COMMITS = floor.find((row) => row.what.startsWith('PostgreSQL'))!.count;
  const measured = measuredOrderCost();
  const rateAtFloor = (os.availableParallelism() * 1000) / floorMs;
  const floorTable = [
    ['primitive', 'per order', 'where in the path', 'ms each', 'ms per order'],
    ['---', '---', '---', '---', '---'],
    ...floor.map((row) => [row.what, String(row.count), row.where, fmt(row.cost, 3), fmt(row.count * row.cost)]),
    ['**the floor**', '', '', '', `**${fmt(floorMs)}**`],
  ]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
  console.log(
    `bench floor: the floor is ${fmt(floorMs)} ms per order (${fmt(rateAtFloor, 0)} orders/s on ${os.availableParallelism()} cores) against the budget of ${fmt(BUDGET_MS)} ms`,
  );

  const shared = Math.max(...Object.values(costs).map((c) => c.elsewhere));
  return [
    '## Floor',
    '',
    `Command: \`npm run bench -- floor\`. 1-minute load average ${fmt(loadBefore, 1)} before and ${fmt(loadAfter, 1)} after, on ${os.availableParallelism()} cores; ` +
      `while a primitive was measured, other work on the machine used at most ${fmt(shared * 100, 0)}% of the cores` +
      (shared > 0.05 ? ': the machine was shared, so the costs below are higher than this machine gives alone.' : '.'),
    '',
    'What each primitive an order is made of costs in CPU on this machine, and the least an order can cost with the design (docs/architecture.md, "Orders" and "Notifications"). ' +
      `Each primitive runs between processes of its own (bench/floor-roles.ts, forked, NODE_ENV=production), with the production libraries and settings, ${CONCURRENCY} operations in flight, ` +
      `${WARMUP} unmeasured then ${N} measured; CPU time (user + system) of every process involved from /proc, as bench orders reads it: ` +
      '`client` the process that calls (the producer, the undici Pool, postgres.js), `server` the one that answers (the BullMQ Worker, the HTTP server, the gateway), `subgraph` the subgraph behind the gateway, ' +
      '`postgresql` the backends serving the scratch database, `redis` the Redis server (shared with any other work on the machine). ' +
      "`pg background` is PostgreSQL's WAL writer, checkpointer and background writer, shared by every database of the cluster and not counted in the total (bench orders does not count them either).",
    '',
    `- BullMQ: \`addJob\` of an order \`process\` job (its declared options: ${config.ORDER_RETRY_DELAYS_MS.length + 1} attempts, custom backoff, completed jobs kept, job id = a fresh order id) from one process, ` +
      `a Worker on \`orders\` with the order worker's options (concurrency ORDER_CONCURRENCY ${config.ORDER_CONCURRENCY}, lock ${config.WORKER_LOCK_MS} ms, the limiter workers/pause.ts sets) and a no-op processor in another; the producer keeps ${CONCURRENCY} adds in flight.`,
    '- HTTP: an undici Pool with keep-alive posting the reserveStock mutation (JSON) and parsing the JSON answer, as the order worker calls inventory; the server is a bare node:http one, or Apollo Server 5 on express 5 (express.json, expressMiddleware) over a one-mutation subgraph schema (buildSubgraphSchema); ' +
      "and Junction's NotifyProvider (common/partner.ts: an undici Agent behind a breaker, per-attempt timeout) posting a notification to the bare server, as the delivery worker does. The servers run " +
      "without what Junction's subgraphs add on top (token verification, request ids, metrics, tracing, logging).",
    "- Gateway: @apollo/gateway on Apollo Server 5 and express 5 over that subgraph (composed with @apollo/composition), calling it through Junction's SubgraphDataSource (undici Pool, breaker, in-flight sharing); the client posts the mutation to the gateway. " +
      "Without the production gateway's token verification, rate limit (a Redis call) and query limits.",
    `- PostgreSQL: postgres.js through common/db.ts connect() (a pool of 10, prepared statements) on a scratch database (created and dropped), one \`update … set n = n + 1, updated_at = now() where id = $1\` on a ${PG_ROWS}-row table; ` +
      `synchronous_commit is \`${synchronousCommit}\` on this server. Junction's state changes are each one statement (a CTE), so one statement is one commit; the explicit transaction is shown beside it.`,
    '',
    '### Cost per operation',
    '',
    costTable(Object.values(costs)),
    '',
    '### The floor: the least CPU an order can cost with this design',
    '',
    "Each primitive times the count of it in one order's path, from placement to the notification SENT, counted from the code: " +
      `one placeOrder through the gateway, then three jobs, two HTTP calls from the workers and ${COMMITS} commits ` +
      '(bench orders counts more in its table: the outbox relay commits once per batch of rows it publishes, and its reads count as commits too). ' +
      'Nothing else is counted: no token verification, rate limit, logging, metrics, tracing, validation, SQL beyond one single-row statement a commit, or the outbox relay; so a real order costs more than this.',
    '',
    floorTable,
    '',
    `- **The floor is ${fmt(floorMs)} ms of CPU per order** against the budget of ${fmt(BUDGET_MS)} ms (${GOAL_RATE} orders/s on ${os.availableParallelism()} cores): ` +
      (floorMs <= BUDGET_MS
        ? `${fmt((floorMs / BUDGET_MS) * 100, 0)}% of it, which leaves ${fmt(BUDGET_MS - floorMs)} ms per order for everything the floor leaves out; at the floor ${os.availableParallelism()} cores give ${fmt(rateAtFloor, 0)} orders/s.`
        : `over it by ${fmt(floorMs - BUDGET_MS)} ms: this design cannot reach ${GOAL_RATE} orders/s on this machine; at the floor ${os.availableParallelism()} cores give ${fmt(rateAtFloor, 0)} orders/s at most.`),
    latencyBound(costs.gateway.total + costs.statement.total, floorMs),
    `- Junction's delivery sends to the provider through its Partner (workers/notifications/provider.ts, common/partner.ts), which costs ${fmt(costs.provider.total, 3)} ms a request against the bare undici Pool's ${fmt(costs.http.total, 3)} ms: ` +
      `${fmt(Math.abs(costs.provider.total - costs.http.total))} ms ${costs.provider.total >= costs.http.total ? 'more' : 'less'} per order than the floor counts.`,
    measured === undefined
      ? '- bench orders has no measurement in BENCHMARKS.md to compare with.'
      : floorMs <= measured
        ? `- bench orders last measured ${fmt(measured)} ms per order (its section of BENCHMARKS.md): ${fmt((floorMs / measured) * 100, 0)}% of that is the floor, and ${fmt(measured - floorMs)} ms is what the floor leaves out.`
        : `- bench orders last measured ${fmt(measured)} ms per order (its section of BENCHMARKS.md), ${fmt(floorMs - measured)} ms less than this floor: the primitives cost more here, each alone at ${CONCURRENCY} in flight, than within Junction's processes, so read this floor as high.`,
  ].join('\n');
}

/**
 * What the floor says of placeOrder's latency goal. In a closed loop each of
 * CLIENTS clients waits for its answer before asking again, so their mean
 * latency is CLIENTS / throughput (Little's law), and throughput is at most
 * what the cores give at the CPU each order costs.
 */
function latencyBound(acceptMs: number, floorMs: number): string {
  const cores = os.availableParallelism();
  const acceptRate = (cores * 1000) / acceptMs;
  const bothRate = (cores * 1000) / floorMs;
  const mean = (rate: number) => (CLIENTS / rate) * 1000;
  return (
    `- placeOrder's goal, p99 at most ${LATENCY_GOAL_MS} ms with ${CLIENTS} clients: in a closed loop their mean latency is ${CLIENTS} / throughput (Little's law), and the p99 is above the mean. ` +
    `Accepting alone costs at least ${fmt(acceptMs, 3)} ms an order (the gateway request and one commit), so with nothing else running ${cores} cores accept at most ${fmt(acceptRate, 0)} orders/s, a mean of at least ${fmt(mean(acceptRate), 0)} ms. ` +
    `With the workers processing what is accepted meanwhile, each order costs at least the floor: at most ${fmt(bothRate, 0)} orders/s, a mean of at least ${fmt(mean(bothRate), 0)} ms` +
    (mean(bothRate) > LATENCY_GOAL_MS ? `, so with the workers running the goal cannot be met on this machine.` : '.')
  );
}
