/**
 * `npm start` end to end: the real launcher and every service as real
 * processes, on ports, a database and a queue prefix of this test's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, gqlData } from '../support/graphql.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PORT_VARIABLES = ['GATEWAY_PORT', 'USERS_PORT', 'EVENTS_PORT', 'ORDERS_PORT', 'INVENTORY_PORT', 'NOTIFICATIONS_PORT', 'EXTERNAL_PORT', 'WORKERS_PORT'];

const suffix = randomBytes(4).toString('hex');
const database = `jt_e2e_start_${suffix}`;
const queuePrefix = `jt-e2e-start-${suffix}`;
let env: Record<string, string>;
let gatewayBase: string;
const launched: Launch[] = [];

/** Distinct free ports, all held open at once so none is handed out twice. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, resolve));
    servers.push(server);
  }
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

interface Launch {
  process: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the output after `from` characters. */
  waitFor(pattern: RegExp, timeoutMs: number, from?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function launch(extraEnv: Record<string, string> = {}): Launch {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters = new Set<() => void>();
  const append = (chunk: Buffer) => {
    text += chunk.toString();
    for (const wake of waiters) wake();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const handle: Launch = {
    process: child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = text.slice(from).match(pattern);
          if (!match) return;
          done();
          resolve(match);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${text.slice(-4000)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
  launched.push(handle);
  return handle;
}

async function readyStatus(): Promise<number> {
  try {
    return (await fetch(`${gatewayBase}/ready`, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const startedPids = (output: string) => Object.fromEntries([...output.matchAll(/started (\w+) pid (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));

beforeAll(async () => {
  const ports = await freePorts(PORT_VARIABLES.length);
  const admin = new URL(ADMIN_URL);
  admin.pathname = `/${database}`;
  env = {
    ...Object.fromEntries(PORT_VARIABLES.map((name, i) => [name, String(ports[i])])),
    DATABASE_URL: admin.toString(),
    QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: 'warn',
    NODE_ENV: 'test',
  };
  // Neither the developer's INGEST_API_KEY nor their URLs: this stack stands alone.
  for (const name of [
    'INGEST_API_KEY',
    'SERVICE_API_KEY',
    'AUTH_JWKS_URL',
    'AUTH_ISSUER',
    'AUTH_AUDIENCE',
    'AUTH_USER_CLAIM',
    'AUTH_ROLES_CLAIM',
    'HOST',
    'USERS_URL',
    'EVENTS_URL',
    'ORDERS_URL',
    'INVENTORY_URL',
    'NOTIFICATIONS_URL',
    'ENRICHMENT_URL',
    'EVENT_REGISTRY_URL',
    'NOTIFY_URL',
    'BACKUP_URL',
    'SUPERGRAPH_PATH',
  ]) {
    delete process.env[name];
  }
  gatewayBase = `http://127.0.0.1:${env.GATEWAY_PORT}`;
});

afterAll(async () => {
  for (const { process: launcher, output } of launched) {
    if (launcher.exitCode === null && launcher.signalCode === null) launcher.kill('SIGKILL');
    for (const pid of Object.values(startedPids(output()))) if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${database}" with (force)`).finally(() => admin.end());
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
  await redis.connect();
  try {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${queuePrefix}:*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
});

describe('npm start', () => {
  it('refuses to start on a stale supergraph.graphql', async () => {
    const stale = join(tmpdir(), `supergraph-stale-${suffix}.graphql`);
    writeFileSync(stale, 'schema { query: Query }\ntype Query { stale: Boolean }\n');
    const run = launch({ SUPERGRAPH_PATH: stale });
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.output()).toContain(`${stale} is stale: run npm run compose`);
    expect(run.output()).not.toMatch(/started \w+ pid/);
  });

  it('runs every service, serves queries, restarts a killed subgraph, and stops everything on SIGTERM', { timeout: 300_000 }, async () => {
    const run = launch();
    // Generous waits, no wall-clock bound: on 2 cores shared with the rest of the suite (browser tests included),
    // seven services loading under tsx can take longer than 30 s; how fast it starts is not what this test shows.
    const keyLine = await run.waitFor(/INGEST_API_KEY is not set: every service uses (\S+)/, 90_000);
    expect(keyLine[1]).toMatch(/^dev-/);

    await expect.poll(readyStatus, { timeout: 90_000, interval: 250 }).toBe(200);
    await run.waitFor(new RegExp(`gateway\\s+${gatewayBase}/graphql`), 10_000);

    const pids = startedPids(run.output());
    expect(Object.keys(pids)).toEqual(expect.arrayContaining(['external', 'users', 'events', 'inventory', 'orders', 'gateway']));
    expect(Object.keys(pids).at(-1)).toBe('gateway');

    // The launcher prints an admin token of the development identity provider.
    const [, adminToken] = await run.waitFor(/Admin token for 24 h[^\n]*\n[^\n]*?(eyJ[\w-]+\.[\w-]+\.[\w-]+)/, 10_000);
    const admin = { authorization: `Bearer ${adminToken}` };
    expect((await gqlData(`${gatewayBase}/graphql`, '{ users(first: 1) { totalCount } }', {}, admin)).users.totalCount).toEqual(expect.any(Number));

    // Sign up, get a token from the development identity provider, and see exactly one's own data.
    const email = `e2e-${suffix}@example.com`;
    const { createUser } = await gqlData(`${gatewayBase}/graphql`, `mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
      input: { name: 'End To End', email },
    });
    const minted = await fetch(`http://127.0.0.1:${env.EXTERNAL_PORT}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub: createUser.id }),
    });
    expect(minted.status).toBe(200);
    const me = { authorization: `Bearer ${((await minted.json()) as { token: string }).token}` };
    const byId = `query($id: ID!) { user(id: $id) { id name email } }`;
    expect((await gqlData(`${gatewayBase}/graphql`, byId, { id: createUser.id }, me)).user).toEqual({ id: createUser.id, name: 'End To End', email });
    expect((await gql(`${gatewayBase}/graphql`, byId, { id: createUser.id })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql(`${gatewayBase}/graphql`, '{ __typename }', {}, { authorization: 'Bearer forged' })).status).toBe(401);
    // Bull Board: 401 without the admin token, open with it.
    expect((await fetch(`http://127.0.0.1:${env.WORKERS_PORT}/admin/queues`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${env.WORKERS_PORT}/admin/queues`, { headers: admin })).status).toBe(200);

    // The key the launcher printed is the one the notifications subgraph checks.
    const ingest = `mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId status } }`;
    const event = { eventType: 'e2e_check', timestamp: new Date().toISOString(), payload: { userId: createUser.id } };
    const wrongKey = await gql(`${gatewayBase}/graphql`, ingest, { input: event }, { 'X-API-Key': 'not-the-key' });
    expect(wrongKey.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const accepted = await gqlData(`${gatewayBase}/graphql`, ingest, { input: event }, { 'X-API-Key': keyLine[1]! });
    expect(accepted.ingestEvent.eventId).toEqual(expect.any(String));

    // A subgraph dies hard: the launcher says so, starts a new one, and the gateway is ready again.
    const mark = run.output().length;
    process.kill(pids.users!, 'SIGKILL');
    await run.waitFor(/users was killed by SIGKILL; restarting in 1 s/, 10_000, mark);
    const [, , restartedPid] = await run.waitFor(/started (users) pid (\d+)/, 15_000, mark);
    expect(Number(restartedPid)).not.toBe(pids.users);
    await expect.poll(readyStatus, { timeout: 90_000, interval: 250 }).toBe(200);
    expect((await gqlData(`${gatewayBase}/graphql`, byId, { id: createUser.id }, me)).user.email).toBe(email);
    expect(alive(pids.users!)).toBe(false);

    // SIGTERM: every child stops, then the launcher exits 0.
    const children = Object.values(startedPids(run.output()));
    run.process.kill('SIGTERM');
    const exit = await Promise.race([run.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 15_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(children.filter(alive)).toEqual([]);
    expect(await readyStatus()).toBe(0);
  });
});
