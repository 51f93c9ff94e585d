import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { eventually } from './wait.ts';
import { freePort, PrivateRedis } from './orders.ts';

const run = promisify(execFile);

/** Asks one server (never the shared one) a command over a connection of its own. */
async function ask(port: number, ...command: [string, ...(string | number)[]]): Promise<unknown> {
  const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await redis.call(...command);
  } finally {
    redis.disconnect();
  }
}

/** Waits until `check` is true, a server that does not answer yet counting as false. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  // In beforeAll hooks too, where expect.poll cannot run.
  await eventually(() => check().catch(() => false), timeoutMs, what);
}

/** Stops every server (those that did not start are skipped) and removes their directory. */
async function stopAll(servers: PrivateRedis[], dir: string): Promise<void> {
  await Promise.allSettled(servers.map((server) => server.stop()));
  rmSync(dir, { recursive: true, force: true });
}

export interface RedisClusterServers {
  /** REDIS_URL naming every master: `redis+cluster://127.0.0.1:P1,…`. */
  url: string;
  masters: PrivateRedis[];
  /** The port of the master holding `key`'s slot. */
  masterOf(key: string): Promise<number>;
  /** Every key of the cluster that matches `pattern`, per master port. */
  keys(pattern: string): Promise<Map<number, string[]>>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of this test's own: `masters` redis-servers with
 * cluster-enabled on free ports, joined by `redis-cli --cluster create` (no
 * replicas), resolved once every node reports `cluster_state:ok`.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterServers> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-redis-cluster-'));
  const servers: PrivateRedis[] = [];
  try {
    for (let i = 0; i < masters; i += 1) {
      const port = await freePort();
      servers.push(
        await PrivateRedis.start({ port, args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir] }),
      );
    }
    await run('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const server of servers) {
      await until(`cluster_state:ok on ${server.port}`, async () => String(await ask(server.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'));
    }
  } catch (error) {
    await stopAll(servers, dir);
    throw error;
  }
  return {
    url: `redis+cluster://${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`,
    masters: servers,
    async masterOf(key) {
      const slot = Number(await ask(servers[0]!.port, 'CLUSTER', 'KEYSLOT', key));
      const ranges = (await ask(servers[0]!.port, 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`no master holds slot ${slot}`);
      return range[2][1];
    },
    async keys(pattern) {
      const found = new Map<number, string[]>();
      for (const server of servers) found.set(server.port, (await ask(server.port, 'KEYS', pattern)) as string[]);
      return found;
    },
    stop: () => stopAll(servers, dir),
  };
}

export interface SentinelServers {
  /** REDIS_URL naming only the Sentinels: `redis+sentinel://127.0.0.1:S1,…/<masterName>`. */
  url: string;
  masterName: string;
  /** The primary it started with, and its replicas. */
  primary: PrivateRedis;
  replicas: PrivateRedis[];
  sentinels: PrivateRedis[];
  /** The data node (primary or replica) on `port`. */
  node(port: number): PrivateRedis;
  /** The port the Sentinels name as the primary now. */
  primaryPort(): Promise<number>;
  /** Asks the Sentinel for a failover while the primary still runs (SENTINEL FAILOVER, once one can start); returns the port of the primary it demotes. */
  failover(timeoutMs?: number): Promise<number>;
  /** Waits until the Sentinels name a primary other than `port` and that server answers ROLE as a master; returns its port. */
  failedOverFrom(port: number, timeoutMs?: number): Promise<number>;
  /** The client connections on the server at `port`, without replicas, Sentinels and this question's own. */
  clientsOn(port: number): Promise<{ name: string; flags: string }[]>;
  /** What the server at `port` answers to ROLE: `master` or `slave`. */
  roleOf(port: number): Promise<string>;
  /** The keys matching `pattern` on the server at `port`. */
  keysOn(port: number, pattern: string): Promise<string[]>;
  stop(): Promise<void>;
}

export interface SentinelOptions {
  replicas?: number;
  sentinels?: number;
  /** How long the primary must be silent before a Sentinel calls it down (`down-after-milliseconds`). */
  downAfterMs?: number;
}

/** One SENTINEL REPLICAS entry (a flat name/value list) as a map. */
const fieldsOf = (entry: string[]) => new Map(entry.flatMap((value, i) => (i % 2 === 0 ? [[value, entry[i + 1]]] : [])));

/**
 * A primary, `replicas` replicas of it and `sentinels` Sentinels (quorum 1)
 * watching it, all of this test's own on free ports; resolved once every
 * replica is in sync and every Sentinel could promote every replica.
 */
export async function startRedisSentinel({ replicas = 1, sentinels = 1, downAfterMs = 1000 }: SentinelOptions = {}): Promise<SentinelServers> {
  const dir = mkdtempSync(join(tmpdir(), 'junction-redis-sentinel-'));
  const masterName = 'junction-test';
  const servers: PrivateRedis[] = [];
  const started = async (options: Parameters<typeof PrivateRedis.start>[0]) => {
    const server = await PrivateRedis.start(options);
    servers.push(server);
    return server;
  };
  try {
    const primary = await started({ args: ['--dir', dir] });
    const copies: PrivateRedis[] = [];
    for (let i = 0; i < replicas; i += 1) copies.push(await started({ args: ['--dir', dir, '--replicaof', '127.0.0.1', String(primary.port)] }));
    for (const copy of copies) {
      await until(`replica ${copy.port} in sync`, async () => String(await ask(copy.port, 'INFO', 'replication')).includes('master_link_status:up'));
    }
    const watchers: PrivateRedis[] = [];
    for (let i = 0; i < sentinels; i += 1) {
      const port = await freePort();
      const configFile = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        configFile,
        [
          `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} 1`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      watchers.push(await started({ port, configFile, sentinel: true, args: ['--dir', dir] }));
    }
    // A replica a Sentinel could promote: seen (INFO read), flagged a plain replica, its link to the primary up.
    const promotable = async (sentinel: PrivateRedis) =>
      ((await ask(sentinel.port, 'SENTINEL', 'REPLICAS', masterName)) as string[][])
        .map(fieldsOf)
        .filter((f) => f.get('flags') === 'slave' && f.get('master-link-status') === 'ok').length;
    for (const watcher of watchers)
      await until(`sentinel ${watcher.port} can promote ${replicas} replicas`, async () => (await promotable(watcher)) >= replicas);
    const primaryPort = async () => Number(((await ask(watchers[0]!.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string])[1]);
    const nodes = [primary, ...copies];
    const roleOf = async (port: number) => ((await ask(port, 'ROLE')) as [string])[0];
    return {
      url: `redis+sentinel://${watchers.map((w) => `127.0.0.1:${w.port}`).join(',')}/${masterName}`,
      masterName,
      primary,
      replicas: copies,
      sentinels: watchers,
      node(port) {
        const found = nodes.find((n) => n.port === port);
        if (!found) throw new Error(`no data node on ${port}`);
        return found;
      },
      primaryPort,
      async failover(timeoutMs = 30_000) {
        const demoted = await primaryPort();
        // NOGOODSLAVE / INPROG until a replica is in sync and the last failover is over.
        await until('SENTINEL FAILOVER accepted', async () => (await ask(watchers[0]!.port, 'SENTINEL', 'FAILOVER', masterName)) === 'OK', timeoutMs);
        return demoted;
      },
      async failedOverFrom(port, timeoutMs = 30_000) {
        let promoted = port;
        await until(
          `failover from ${port}`,
          async () => {
            promoted = await primaryPort();
            return promoted !== port && (await roleOf(promoted)) === 'master';
          },
          timeoutMs,
        );
        return promoted;
      },
      async clientsOn(port) {
        const lines = String(await ask(port, 'CLIENT', 'LIST'))
          .trim()
          .split('\n');
        const clients = lines.map((line) => Object.fromEntries(line.split(' ').map((pair) => pair.split('=', 2) as [string, string])));
        return clients
          .filter((c) => !c.flags!.includes('S') && !c.flags!.includes('M') && !c.name!.startsWith('sentinel-') && c.cmd !== 'client|list')
          .map((c) => ({ name: c.name!, flags: c.flags! }));
      },
      roleOf,
      keysOn: async (port, pattern) => (await ask(port, 'KEYS', pattern)) as string[],
      stop: () => stopAll(servers, dir),
    };
  } catch (error) {
    await stopAll(servers, dir);
    throw error;
  }
}
