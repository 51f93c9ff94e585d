import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type postgres from 'postgres';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { gqlData } from './graphql.ts';

export const ORDER_FIELDS = 'id status failureReason attempts quantity history { status at reason }';

/** Settings that keep the order tests fast: short retries, a 1 s inventory timeout (ample on 2 busy cores), quick polling, no backups. */
export function fastOrderEnv(label: string) {
  return {
    QUEUE_PREFIX: `jt-${label}-${randomUUID().slice(0, 8)}`,
    ORDER_RETRY_DELAYS_MS: '100,100,100',
    INVENTORY_TIMEOUT_MS: '1000',
    OUTBOX_POLL_MS: '100',
    WORKER_LOCK_MS: '1500',
    ORDER_CONCURRENCY: '20',
    // No pg_dump every 5 minutes in the order tests' workers.
    BACKUP_DUMP_EVERY_MS: '0',
  };
}

/** Creates a product; `admin`: an admin's headers (createProduct is admin-only). */
export async function createProduct(gatewayUrl: string, stock: number, admin: Record<string, string>): Promise<string> {
  const id = `SKU-${randomUUID().slice(0, 8)}`;
  const input = { id, name: `Product ${id}`, priceCents: 1999, stock };
  await gqlData(gatewayUrl, `mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }`, { input }, admin);
  return id;
}

/** Signs a new user up (anonymously; `headers`: any extra request headers, e.g. a traceparent); returns the id. */
export async function createUser(gatewayUrl: string, headers: Record<string, string> = {}): Promise<string> {
  const tag = randomUUID().slice(0, 8);
  const data = await gqlData(
    gatewayUrl,
    `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`,
    { input: { name: `Buyer ${tag}`, email: `buyer-${tag}@example.com` } },
    headers,
  );
  return data.createUser.id;
}

/** Places an order with a fresh idempotency key, signed in with `headers` (the buyer's, or an admin's; any extra request headers, e.g. a traceparent). */
export async function placeOrder(gatewayUrl: string, input: { userId: string; productId: string; quantity: number }, headers: Record<string, string>) {
  const variables = { input: { ...input, idempotencyKey: randomUUID() } };
  const data = await gqlData(gatewayUrl, `mutation PlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { ${ORDER_FIELDS} } }`, variables, headers);
  return data.placeOrder;
}

/** Waits until every listed order is CONFIRMED, FAILED or CANCELLED; returns their rows. */
export async function waitForTerminal(sql: postgres.Sql, ids: string[], timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await sql`select id, status, failure_reason, attempts from orders.orders where id = any(${ids}::uuid[])`;
    const open = rows.filter((row) => !['CONFIRMED', 'FAILED', 'CANCELLED'].includes(row.status));
    if (open.length === 0 && rows.length === ids.length) return rows;
    if (Date.now() > deadline) {
      throw new Error(
        `${open.length} of ${ids.length} orders not terminal after ${timeoutMs} ms: ${open
          .slice(0, 5)
          .map((r) => `${r.id}=${r.status}`)
          .join(', ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Sets (or with null clears) the inventory gremlin of the subgraph at `graphqlUrl`; `service`: the service key's (or an admin's) headers. */
export async function gremlin(graphqlUrl: string, settings: { every: number; latencyMs: number } | null, service: Record<string, string>): Promise<void> {
  const url = graphqlUrl.replace(/\/graphql$/, '/internal/gremlin');
  const response = await fetch(
    url,
    settings
      ? { method: 'POST', headers: { 'content-type': 'application/json', ...service }, body: JSON.stringify(settings) }
      : { method: 'DELETE', headers: service },
  );
  if (!response.ok) throw new Error(`gremlin ${response.status}`);
}

/** Removes every queue of a test prefix from Redis. */
export async function dropQueues(redisUrl: string, prefix: string): Promise<void> {
  await dropKeys(redisUrl, `${prefix}:*`);
}

/**
 * Deletes every key matching `match` (a SCAN pattern, e.g. `<prefix>:*`): BullMQ's queues, their schedulers'
 * meta keys, the APQ cache, whatever a test left under its own prefix. A Redis that is not there (a test's
 * private one, stopped) is skipped at once.
 */
export async function dropKeys(redisUrl: string, match: string): Promise<void> {
  const connection = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 5000 });
  connection.on('error', () => {});
  try {
    await connection.connect();
    for await (const keys of connection.scanStream({ match, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length) await connection.unlink(...keys);
    }
  } catch {
    // Not reachable: nothing of this test's is kept there any more.
  } finally {
    connection.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** How PrivateRedis.start runs a redis-server beyond the defaults. */
export interface PrivateRedisOptions {
  /** Its port; a free one by default. */
  port?: number;
  /** More command-line settings, e.g. `['--cluster-enabled', 'yes']` or `['--replicaof', '127.0.0.1', '6380']`. */
  args?: string[];
  /** A config file to start from, given before the settings (a Sentinel needs one it can write). */
  configFile?: string;
  /** Run as a Sentinel (`--sentinel`; needs `configFile`). */
  sentinel?: boolean;
}

/** A private, throwaway redis-server (never the shared one): stop() and start() it at will. */
export class PrivateRedis {
  private process?: ChildProcess;
  private constructor(
    readonly port: number,
    private readonly options: PrivateRedisOptions,
  ) {}

  static async start(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
    const redis = new PrivateRedis(options.port ?? (await freePort()), options);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const { configFile, sentinel, args = [] } = this.options;
    const settings = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args];
    const child = spawn('redis-server', [...(configFile ? [configFile] : []), ...(sentinel ? ['--sentinel'] : []), ...settings], { stdio: 'ignore' });
    this.process = child;
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = `exited (${signal ?? `code ${code}`})`));
    const deadline = Date.now() + 10_000;
    for (;;) {
      // Every probe is bounded: a PING on a socket that something else (or a frozen server) accepted and never
      // answers would otherwise wait for ever (the hang seen in workers/test/ready.int.test.ts).
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000 });
      probe.on('error', () => {});
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        // The server we started is gone (its port taken since freePort() chose it): say so now, not after 10 s.
        if (exited) throw new Error(`redis-server on ${this.port} ${exited} before answering`);
        if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        probe.disconnect();
      }
    }
  }

  /** Freezes this redis-server (SIGSTOP): connections stay open and nothing is answered, until thaw(). */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  /** Lets a frozen redis-server run again (SIGCONT). */
  thaw(): void {
    this.process?.kill('SIGCONT');
  }

  /** Stops this redis-server only (SIGTERM to the process we started) and waits for it to exit. */
  stop(): Promise<void> {
    return this.end('SIGTERM');
  }

  /** Kills this redis-server at once (SIGKILL), as a crashed machine would, and waits for it to exit. */
  kill(): Promise<void> {
    return this.end('SIGKILL');
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
    this.process = undefined;
  }
}

/**
 * True when order processing has nothing left to do: every orders outbox row
 * published and no job of the `orders` queue waiting, active or delayed
 * (a job stays active while its inventory call is in flight).
 */
export function ordersSettled(sql: postgres.Sql, queue: Queue): () => Promise<boolean> {
  return async () => {
    const [row] = await sql`select count(*)::int as n from orders.outbox where published_at is null`;
    if (row!.n > 0) return false;
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
    return Object.values(counts).every((n) => n === 0);
  };
}
