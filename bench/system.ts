/**
 * The whole of Junction compiled (`npm run build`, dist/), each service its own
 * process as `npm start` and docker compose run them: the simulated partners
 * (external/), every subgraph of subgraphs/index.ts, the gateway, and on
 * demand the workers, all with NODE_ENV=production on a fresh database, one
 * BullMQ prefix of its own on the shared Redis, and a test identity provider
 * (in this process) whose tokens every service verifies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { SUBGRAPHS, type SubgraphName } from '../subgraphs/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/db.ts';
import { startTestIdentity, type TestIdentity } from '../test/support/identity.ts';
import { dropQueues, freePort } from '../test/support/orders.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface SystemOptions {
  /** The compiled tree to run (default dist/ of this checkout). */
  dist?: string;
  /** Settings for every process (over the system's own). */
  env?: Record<string, string>;
  /** Settings for one process, by its name (a subgraph's name, `gateway`, `workers`, `external`). */
  envOf?: Record<string, Record<string, string>>;
  /** Writes a CPU profile (`node --cpu-prof`) of each process into this directory when it stops. */
  profileDir?: string;
  /** The PostgreSQL cluster to create the database in (e.g. a PrivatePostgres's adminUrl); default the shared one. */
  adminUrl?: string;
  /** Reads each process's stdout (its log lines) to count them (System.logLines) instead of discarding it. */
  countLogLines?: boolean;
}

export interface Service {
  name: string;
  child: ChildProcess;
  base: string;
}

export interface System {
  db: TestDatabase;
  identity: TestIdentity;
  gatewayUrl: string;
  urls: Record<SubgraphName, string>;
  /** The settings every process got. */
  env: Record<string, string>;
  services: Map<string, Service>;
  /** Starts the workers process (outbox relay, order and notification workers), once it answers /health. */
  startWorkers(env?: Record<string, string>): Promise<Service>;
  /** Stops one process (SIGTERM, its graceful shutdown) and waits for it to exit. */
  stop(name: string): Promise<void>;
  /** Starts a process again (after it stopped or was killed) as it first started, once it answers its probe. */
  restart(name: string): Promise<Service>;
  /** Peak resident memory (VmHWM) of a running process, in MiB. */
  peakRssMiB(name: string): number;
  /**
   * CPU time (user + system, ms) used so far by each running service, by the
   * PostgreSQL backends serving this system's database (`postgresql`) and by
   * the Redis server (`redis`, which other work on the machine may share).
   */
  cpuMs(): Promise<Record<string, number>>;
  /** Log lines each process wrote to stdout so far, by process and by message (with countLogLines; empty otherwise). */
  logLines: Map<string, Map<string, number>>;
  /** PostgreSQL's counters for this system's database (pg_stat_database): commits, rows inserted and updated. */
  dbCounters(): Promise<{ commits: number; inserted: number; updated: number }>;
  close(): Promise<void>;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime of a process, ms; 0 when it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** CPU time every process on the machine has spent so far (user + system, every core, ms), from /proc/stat: what processes' utime and stime add up to. */
export function machineBusyMs(): number {
  // cpu  user nice system idle …
  const [user, nice, system] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system!) * TICK_MS;
}

async function untilUp(name: string, child: ChildProcess, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was up`);
    if (Date.now() > deadline) throw new Error(`${name} was not up at ${url} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The Redis server's pid (INFO server), to read its CPU time from /proc; undefined when it cannot be asked. */
export async function redisServerPid(url: string): Promise<number | undefined> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    return Number(/process_id:(\d+)/.exec(info)?.[1]) || undefined;
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

export async function startSystem(label: string, options: SystemOptions = {}): Promise<System> {
  const dist = options.dist ?? join(ROOT, 'dist');
  const db = await createTestDatabase(label, options.adminUrl);
  const identity = await startTestIdentity();
  const prefix = `bench-${label}-${randomUUID().slice(0, 8)}`;
  const services = new Map<string, Service>();
  const ports: Record<string, number> = {};
  for (const name of ['external', 'gateway', 'workers', ...SUBGRAPHS.map((s) => s.name)]) ports[name] = await freePort();
  const external = `http://127.0.0.1:${ports.external}`;
  const urls = Object.fromEntries(SUBGRAPHS.map((s) => [s.name, `http://127.0.0.1:${ports[s.name]}/graphql`])) as Record<SubgraphName, string>;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    // The production default: every service logs at info (to stdout, discarded here).
    LOG_LEVEL: 'info',
    DATABASE_URL: db.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: prefix,
    SERVICE_API_KEY: `bench-service-key-${randomUUID()}`,
    INGEST_API_KEY: `bench-ingest-key-${randomUUID()}`,
    ...identity.env,
    EXTERNAL_PORT: String(ports.external),
    ENRICHMENT_URL: external,
    NOTIFY_URL: external,
    BACKUP_URL: external,
    EVENT_REGISTRY_URL: '',
    // The workers pods run no pg_dump (deploy/kubernetes: BACKUP_DUMP_EVERY_MS=0 on workers, a backup pod of its own).
    BACKUP_DUMP_EVERY_MS: '0',
    ...Object.fromEntries(
      SUBGRAPHS.flatMap((s) => [
        [s.portSetting, String(ports[s.name])],
        [s.urlSetting, urls[s.name]],
      ]),
    ),
    GATEWAY_PORT: String(ports.gateway),
    WORKERS_PORT: String(ports.workers),
    ...options.env,
  };

  const started = new Map<string, { entry: string; health: string; extra: Record<string, string> }>();
  const spawnService = async (name: string, entry: string, health: string, extra: Record<string, string> = {}): Promise<Service> => {
    started.set(name, { entry, health, extra });
    const profile = options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir, '--cpu-prof-name', `${name}.${Date.now()}.cpuprofile`] : [];
    const child = spawn(process.execPath, [...profile, join(dist, entry)], {
      cwd: dist,
      env: { ...(process.env as Record<string, string>), ...env, ...options.envOf?.[name], ...extra },
      stdio: ['ignore', options.countLogLines ? 'pipe' : 'ignore', 'inherit'],
    });
    if (options.countLogLines) {
      const counts = system.logLines.get(name) ?? new Map<string, number>();
      system.logLines.set(name, counts);
      let rest = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          let msg = '(not JSON)';
          try {
            msg = String((JSON.parse(line) as { msg?: unknown }).msg);
          } catch {
            // counted as not JSON
          }
          counts.set(msg, (counts.get(msg) ?? 0) + 1);
        }
      });
    }
    const service = { name, child, base: `http://127.0.0.1:${ports[name]}` };
    services.set(name, service);
    await untilUp(name, child, `${service.base}${health}`);
    return service;
  };

  const system: System = {
    db,
    identity,
    gatewayUrl: `http://127.0.0.1:${ports.gateway}/graphql`,
    urls,
    env,
    services,
    logLines: new Map(),
    startWorkers: (extra = {}) => spawnService('workers', 'workers/index.js', '/ready', extra),
    restart(name) {
      const how = started.get(name);
      if (!how) throw new Error(`${name} was never started`);
      return spawnService(name, how.entry, how.health, how.extra);
    },
    async stop(name) {
      const service = services.get(name);
      if (!service) return;
      await stopProcess(service.child);
      services.delete(name);
    },
    peakRssMiB(name) {
      const pid = services.get(name)?.child.pid;
      if (!pid) return Number.NaN;
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
      return kb / 1024;
    },
    async cpuMs() {
      const cpu: Record<string, number> = {};
      for (const [name, service] of services) cpu[name] = processCpuMs(service.child.pid!);
      const backends = await db.sql`select pid from pg_stat_activity where datname = ${db.name} and pid <> pg_backend_pid()`;
      cpu.postgresql = backends.reduce((sum, row) => sum + processCpuMs(row.pid), 0);
      const redisPid = await redisServerPid(env.REDIS_URL!);
      if (redisPid) cpu.redis = processCpuMs(redisPid);
      return cpu;
    },
    async dbCounters() {
      const [row] =
        await db.sql`select xact_commit::bigint as commits, tup_inserted::bigint as inserted, tup_updated::bigint as updated from pg_stat_database where datname = ${db.name}`;
      return { commits: Number(row!.commits), inserted: Number(row!.inserted), updated: Number(row!.updated) };
    },
    async close() {
      // The gateway and the workers first, so nothing calls a stopped subgraph.
      for (const name of ['gateway', 'workers']) await system.stop(name);
      await Promise.all([...services.keys()].map((name) => system.stop(name)));
      await identity.close();
      await dropQueues(env.REDIS_URL!, prefix);
      await db.drop();
    },
  };
  try {
    await spawnService('external', 'external/index.js', '/health');
    await Promise.all(SUBGRAPHS.map((s) => spawnService(s.name, `subgraphs/${s.name}/index.js`, '/ready')));
    await spawnService('gateway', 'gateway/index.js', '/ready');
    return system;
  } catch (error) {
    await system.close().catch(() => {});
    throw error;
  }
}
