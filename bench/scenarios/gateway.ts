/**
 * Gateway: throughput, latency and memory of Junction's gateway against stock
 * @apollo/gateway (ApolloServer + ApolloGateway, default data source, no
 * Junction plugins) and Hive Gateway (@graphql-hive/gateway-runtime, default
 * settings), each its own process, over the same subgraphs (in this process,
 * on real PostgreSQL), the same supergraph and the same queries, at 50
 * connections (autocannon), runs interleaved so background load falls on all
 * alike. Junction's gateway runs compiled (`npm run build`, then
 * `node dist/gateway/index.js`), as in production, and the same gateway again
 * under tsx (`node --import tsx gateway/index.ts`, as `npm start` runs it), so
 * the memory of the compiled code and of tsx's on-the-fly compilation are
 * measured side by side under the same load. Every measured request
 * signs in as an admin (`users` is admin-only, `email` and `orders` are
 * (self)) with the same `Authorization: Bearer` token from the stack's
 * identity provider; the stock and Hive gateways forward it to the subgraphs.
 *
 * Then the dashboard query of docs/api/operations/ against one more Junction
 * gateway (a manifest holding it under the id `dashboard-v1`,
 * OPERATIONS_SAFELIST=log, so APQ and manifest ids both work in one process),
 * sent three ways in interleaved runs: its full text, its APQ hash
 * (registered in Redis first) and its manifest id: requests per second, p99,
 * and the gateway process's CPU time per request (/proc/<pid>/stat around
 * each run), beside the CPU that parsing and validating the text costs when
 * it is not cached.
 *
 * BENCH_GATEWAY_SECONDS (default 10) is the length of each measured run,
 * BENCH_GATEWAY_ROUNDS (default 3) how many runs per gateway and query;
 * BENCH_GATEWAY_TARGETS (default apollo,hive,junction,tsx) which gateways run;
 * BENCH_GATEWAY_PROFILE=<dir> runs Junction's gateway with `node --cpu-prof`
 * and writes its CPU profile there when it stops.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { Supergraph } from '@apollo/federation-internals';
import { parse, validate } from 'graphql';
import { Redis } from 'ioredis';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { SUPERGRAPH_FILE } from '../../scripts/compose.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { gqlData } from '../../test/support/graphql.ts';
import { createProduct, createUser, freePort, placeOrder } from '../../test/support/orders.ts';
import { startStack } from '../../test/support/stack.ts';
import { processCpuMs } from '../system.ts';

export const name = 'gateway';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 3);
const WARMUP_SECONDS = 3;
const CONNECTIONS = 50;
const USERS = 40;

type Target = 'junction' | 'tsx' | 'apollo' | 'hive';
const ALL_TARGETS: Target[] = ['apollo', 'hive', 'junction', 'tsx'];
const TARGETS: Target[] = (process.env.BENCH_GATEWAY_TARGETS?.split(',').map((t) => t.trim()) ?? ALL_TARGETS).filter((t): t is Target =>
  ALL_TARGETS.includes(t as Target),
);
if (!TARGETS.includes('junction')) throw new Error('BENCH_GATEWAY_TARGETS must include junction (the others are compared with it)');
const LABEL: Record<Target, string> = {
  junction: 'Junction gateway (dist/)',
  tsx: 'Junction gateway under tsx',
  apollo: 'stock @apollo/gateway',
  hive: 'Hive Gateway runtime',
};
/** The production budget of the compiled gateway's RSS under this load (issue 18). */
const RSS_BUDGET_MIB = 350;

const USERS_QUERY =
  'query Users { users(first: 20) { nodes { id name events(first: 3) { id name startsAt } orders { id status quantity product { id name } } } } }';

interface Run {
  /** Requests answered in the run. */
  requests: number;
  /** CPU time (user + system) the gateway process used during the run, ms. */
  cpuMs: number;
  rps: number;
  p50: number;
  p99: number;
  rssMiB: number;
  errors: number;
  non2xx: number;
}

interface Running {
  url: string;
  child: ChildProcess;
}

async function startGateway(
  target: Target,
  urls: Record<string, string>,
  authEnv: Record<string, string>,
  extraEnv: Record<string, string> = {},
): Promise<Running> {
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    // Junction's gateway verifies the token itself: the stack's identity provider.
    ...authEnv,
    SUPERGRAPH_PATH: SUPERGRAPH_FILE,
    LOG_LEVEL: 'warn',
  };
  let args: string[];
  if (target === 'junction' || target === 'tsx') {
    const profile = target === 'junction' ? process.env.BENCH_GATEWAY_PROFILE : undefined;
    args = [
      ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []),
      ...(target === 'tsx' ? ['--import', 'tsx', 'gateway/index.ts'] : ['dist/gateway/index.js']),
    ];
    Object.assign(env, { NODE_ENV: 'production', GATEWAY_PORT: String(port), RATE_LIMIT_PER_MINUTE: '0', QUEUE_PREFIX: BENCH_PREFIX, ...extraEnv });
    for (const subgraph of SUBGRAPHS) env[subgraph.urlSetting] = urls[subgraph.name]!;
  } else {
    args = ['--import', 'tsx', target === 'apollo' ? 'bench/gateways/stock-apollo.ts' : 'bench/gateways/hive.ts'];
    Object.assign(env, { NODE_ENV: 'production', PORT: String(port), SUBGRAPH_URLS: JSON.stringify(urls) });
    delete env.LOG_LEVEL;
  }
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}/graphql`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'apollo-require-preflight': 'true' },
      body: JSON.stringify({ query: '{ __typename }' }),
    }).then(
      // Any answer but a 5xx: a gateway with OPERATIONS_SAFELIST=enforce refuses this unlisted query 400, and is up.
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return { url, child };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${target} gateway did not start`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function load(url: string, body: string, headers: Record<string, string>, seconds: number, pid: number): Promise<Run> {
  let maxRss = rssMiB(pid);
  const sampler = setInterval(() => {
    maxRss = Math.max(maxRss, rssMiB(pid));
  }, 250);
  const cpuBefore = processCpuMs(pid);
  try {
    const result = await autocannon({
      url,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      connections: CONNECTIONS,
      duration: seconds,
    });
    return {
      requests: result.requests.total,
      cpuMs: processCpuMs(pid) - cpuBefore,
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      rssMiB: Math.max(maxRss, rssMiB(pid)),
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
    };
  } finally {
    clearInterval(sampler);
  }
}

async function seed(gatewayUrl: string, admin: Record<string, string>): Promise<string[]> {
  const productId = await createProduct(gatewayUrl, 100_000, admin);
  const ids: string[] = [];
  // A few users at a time: the subgraphs share this process with nothing else yet.
  for (let i = 0; i < USERS; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, USERS - i) }, async () => {
        const userId = await createUser(gatewayUrl);
        for (let e = 0; e < 3; e++) {
          await gqlData(
            gatewayUrl,
            'mutation($input: AddEventInput!) { addEvent(input: $input) { id } }',
            {
              input: { name: `Bench event ${randomUUID().slice(0, 6)}`, userId, startsAt: '2026-12-24T18:00:00.000Z' },
            },
            admin,
          );
        }
        for (let o = 0; o < 2; o++) await placeOrder(gatewayUrl, { userId, productId, quantity: 1 }, admin);
        return userId;
      }),
    );
    ids.push(...batch);
  }
  return ids;
}

/** Junction's gateways keep their APQ texts under this QUEUE_PREFIX in Redis; removed when the scenario ends. */
const BENCH_PREFIX = `bench-gateway-${randomUUID().slice(0, 8)}`;
const MANIFEST = fileURLToPath(new URL('../../docs/api/operations/manifest.json', import.meta.url));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Microseconds of CPU per parse + validate of `query` against the supergraph's API schema (what Apollo Server's document store saves on a hit). */
function parseAndValidateMicros(query: string, iterations = 2000): number {
  const schema = Supergraph.build(readFileSync(SUPERGRAPH_FILE, 'utf8')).apiSchema().toGraphQLJSSchema();
  for (let i = 0; i < 200; i++) validate(schema, parse(query));
  const before = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const errors = validate(schema, parse(query));
    if (errors.length > 0) throw new Error(`the dashboard query does not validate: ${errors[0]!.message}`);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / iterations;
}

async function dropApqKeys(): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const keys = await redis.keys(`${BENCH_PREFIX}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } catch {
    // Nothing to clean when Redis cannot be reached (the keys expire after APQ_TTL_SECONDS anyway).
  } finally {
    redis.disconnect();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fmt = (value: number, digits = 0) => value.toFixed(digits);

export async function run(): Promise<string> {
  console.log('bench gateway: npm run build …');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  // No event registry: addEvent stores at once. Subgraph timeouts out of the way of a loaded machine.
  const stack = await startStack('bench_gateway', { env: { EVENT_REGISTRY_URL: '', RATE_LIMIT_PER_MINUTE: '0' } });
  const running: Partial<Record<Target, Running>> = {};
  let persistedGateway: Running | undefined;
  try {
    console.log('bench gateway: seeding 40 users, 3 events and 2 orders each …');
    const ids = await seed(stack.gatewayUrl, stack.admin);
    const urls = Object.fromEntries(Object.entries(stack.urls)) as Record<string, string>;
    for (const target of TARGETS) running[target] = await startGateway(target, urls, stack.identity.env);
    // Signed in as an admin, the same token on every request to every gateway.
    const signedIn = stack.admin;

    const queries = [
      {
        label: '`user(id) { id name email }`',
        body: JSON.stringify({ query: 'query One($id: ID!) { user(id: $id) { id name email } }', variables: { id: ids[0] } }),
        // The signed-in admin sees the (self) email.
        complete: (data: any) => data?.user?.id === ids[0] && typeof data.user.email === 'string',
      },
      {
        label: '`users(first: 20) { nodes { id name events(first: 3) { … } orders { … product { id name } } } }`',
        body: JSON.stringify({ query: USERS_QUERY }),
        // The admin-only page, each user with the events and the (self) orders seeded.
        complete: (data: any) =>
          data?.users?.nodes?.length === 20 &&
          data.users.nodes.every((u: any) => u.events.length === 3 && u.orders.length === 2 && u.orders.every((o: any) => o.product?.id)),
      },
    ];

    // Every gateway must give the same answer before it is timed.
    for (const query of queries) {
      const answers = await Promise.all(
        TARGETS.map(async (target) => {
          const response = await fetch(running[target]!.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...signedIn },
            body: query.body,
          });
          const json = (await response.json()) as { data?: unknown; errors?: unknown };
          if (json.errors) throw new Error(`${target} answered errors: ${JSON.stringify(json.errors).slice(0, 300)}`);
          if (!query.complete(json.data))
            throw new Error(`${target} answered ${query.label} without the seeded data: ${JSON.stringify(json.data).slice(0, 300)}`);
          return JSON.stringify(json.data);
        }),
      );
      if (new Set(answers).size !== 1) throw new Error(`the gateways answer ${query.label} differently`);
    }

    const loadBefore = os.loadavg()[0]!;
    const uptimeBefore = execFileSync('uptime', { encoding: 'utf8' }).trim();
    const results: Record<string, Record<Target, Run[]>> = {};
    for (const query of queries) {
      results[query.label] = { junction: [], tsx: [], apollo: [], hive: [] };
      for (const target of TARGETS) await load(running[target]!.url, query.body, signedIn, WARMUP_SECONDS, running[target]!.child.pid!);
      for (let round = 0; round < ROUNDS; round++) {
        for (const target of TARGETS) {
          const result = await load(running[target]!.url, query.body, signedIn, SECONDS, running[target]!.child.pid!);
          console.log(
            `bench gateway: ${query.label.slice(0, 20)} ${target} round ${round + 1}: ${fmt(result.rps)} rps, p50 ${result.p50} ms, p99 ${result.p99} ms, RSS ${fmt(result.rssMiB)} MiB`,
          );
          results[query.label]![target].push(result);
        }
      }
    }

    const loadAfter = os.loadavg()[0]!;
    const uptimeAfter = execFileSync('uptime', { encoding: 'utf8' }).trim();
    const lines: string[] = [];
    lines.push('## Gateway: Junction (compiled, and under tsx) vs stock @apollo/gateway vs Hive Gateway');
    lines.push('');
    lines.push(
      `Command: \`npm run bench -- gateway\`. 1-minute load average ${fmt(loadBefore, 1)} when the measured runs began and ${fmt(loadAfter, 1)} when they ended, ` +
        `on ${os.availableParallelism()} cores: ${loadBefore > os.availableParallelism() || loadAfter > os.availableParallelism() ? "the machine was shared with other work (other engineers' builds and tests) while measuring, so the absolute numbers are low and noisy; the ratios from interleaved runs are the useful part" : 'the machine was quiet'}. ` +
        `The machine is shared with other engineers' sessions, whose builds and tests may run during any measurement. \`uptime\` before: \`${uptimeBefore}\`; after: \`${uptimeAfter}\`.`,
    );
    lines.push('');
    lines.push(
      `Each gateway its own process (Junction compiled: \`node dist/gateway/index.js\`, and the same gateway under tsx as \`npm start\` runs it: \`node --import tsx gateway/index.ts\`, both NODE_ENV=production; the other two with default settings, plus forwarding the client's Authorization header to the subgraphs), every request signed in as an admin with the same bearer token, ` +
        `over the same five subgraphs (in the bench process, real PostgreSQL) and the committed supergraph.graphql; ${USERS} users with 3 events and 2 orders each; ` +
        `autocannon, ${CONNECTIONS} connections, ${ROUNDS} runs of ${SECONDS} s per gateway and query after a ${WARMUP_SECONDS} s warm-up, interleaved ` +
        `(${TARGETS.join(', ')}, ${TARGETS[0]}, …). Medians of the runs (latency: of the runs in which requests completed); failed requests are autocannon's errors and timeouts (10 s) plus non-2xx answers; RSS is the gateway process's highest VmRSS during its runs. ` +
        `Hive Gateway here is @graphql-hive/gateway-runtime (the engine of @graphql-hive/gateway) with its defaults and header propagation for Authorization.`,
    );
    for (const query of queries) {
      const byTarget = results[query.label]!;
      const summary = Object.fromEntries(
        TARGETS.map((target) => {
          const runs = byTarget[target];
          // A run in which no request completed has no latency (autocannon says 0): its latencies are left out.
          const answered = runs.filter((r) => r.rps > 0);
          const latency = (pick: (r: Run) => number) => (answered.length > 0 ? median(answered.map(pick)) : Number.NaN);
          return [
            target,
            {
              rps: median(runs.map((r) => r.rps)),
              p50: latency((r) => r.p50),
              p99: latency((r) => r.p99),
              rss: Math.max(...runs.map((r) => r.rssMiB)),
              failed: runs.reduce((n, r) => n + r.errors + r.non2xx, 0),
              all: runs.map((r) => fmt(r.rps)).join(' / '),
            },
          ];
        }),
      ) as Record<Target, { rps: number; p50: number; p99: number; rss: number; failed: number; all: string }>;
      lines.push('', `### ${query.label}`, '');
      lines.push('| gateway | req/s (median) | req/s per run | p50 ms | p99 ms | RSS MiB (max) | failed requests |');
      lines.push('| --- | --- | --- | --- | --- | --- | --- |');
      for (const target of TARGETS) {
        const s = summary[target];
        lines.push(`| ${LABEL[target]} | ${fmt(s.rps)} | ${s.all} | ${s.p50} | ${s.p99} | ${fmt(s.rss)} | ${s.failed} |`);
      }
      const j = summary.junction;
      lines.push('');
      for (const other of TARGETS.filter((t) => t !== 'junction')) {
        const o = summary[other];
        lines.push(
          `- Junction / ${LABEL[other]}: req/s ×${fmt(j.rps / o.rps, 2)}, p50 ×${fmt(j.p50 / Math.max(o.p50, 0.5), 2)}, p99 ×${fmt(j.p99 / Math.max(o.p99, 0.5), 2)}, RSS ×${fmt(j.rss / o.rss, 2)}`,
        );
      }
    }
    const compiledRss = Math.max(...Object.values(results).flatMap((byTarget) => byTarget.junction.map((r) => r.rssMiB)));
    const tsxRss = TARGETS.includes('tsx') ? Math.max(...Object.values(results).flatMap((byTarget) => byTarget.tsx.map((r) => r.rssMiB))) : Number.NaN;
    lines.push(
      '',
      `Memory budget: the compiled gateway's RSS under this load at most ${RSS_BUDGET_MIB} MiB: **${compiledRss <= RSS_BUDGET_MIB ? 'met' : 'not met'}**, ${fmt(compiledRss)} MiB at most over every run` +
        (Number.isNaN(tsxRss)
          ? '.'
          : ` (under tsx, in the same runs: ${fmt(tsxRss)} MiB, ${fmt(tsxRss - compiledRss)} MiB more; production runs the compiled code).`),
    );
    lines.push('', ...(await persistedRuns(urls, stack.identity.env, signedIn, (gateway) => (persistedGateway = gateway))));
    return lines.join('\n');
  } finally {
    if (persistedGateway && persistedGateway.child.exitCode === null) {
      const child = persistedGateway.child;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await dropApqKeys();
    for (const target of TARGETS) {
      const child = running[target]?.child;
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }
    await stack.close();
  }
}

/**
 * The dashboard query (docs/api/operations/Dashboard.graphql) against one more Junction gateway, sent as its full
 * text, as its APQ hash (the text registered in Redis first, as Apollo Client does) and as its manifest id, in
 * interleaved runs on the same process; a Markdown section. The manifest holds the dashboard under the id
 * `dashboard-v1` (an id need not be a hash), so its SHA-256 is an APQ hash the manifest does not know, and
 * OPERATIONS_SAFELIST=log keeps APQ on: an id is looked up exactly as under `enforce`.
 */
async function persistedRuns(
  urls: Record<string, string>,
  authEnv: Record<string, string>,
  signedIn: Record<string, string>,
  started: (gateway: Running) => void,
): Promise<string[]> {
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { operations: { id: string; body: string; name: string; type: string }[] };
  const source = manifest.operations.find((operation) => operation.name === 'Dashboard');
  if (!source) throw new Error('docs/api/operations/manifest.json has no Dashboard operation');
  const dashboard = { ...source, id: 'dashboard-v1' };
  const dir = mkdtempSync(join(os.tmpdir(), 'junction-bench-manifest-'));
  const manifestFile = join(dir, 'manifest.json');
  writeFileSync(manifestFile, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [dashboard] }));
  const gateway = await startGateway('junction', urls, authEnv, { OPERATIONS_MANIFEST: manifestFile, OPERATIONS_SAFELIST: 'log' });
  started(gateway);
  rmSync(dir, { recursive: true, force: true });
  const persisted = (hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
  const modes = [
    { key: 'text', label: 'full text', gateway, body: JSON.stringify({ query: dashboard.body }) },
    { key: 'apq', label: 'APQ hash (text in Redis)', gateway, body: JSON.stringify(persisted(sha256(dashboard.body))) },
    { key: 'id', label: 'manifest id', gateway, body: JSON.stringify(persisted(dashboard.id)) },
  ] as const;
  const post = (url: string, body: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...signedIn }, body }).then(
      async (r) => (await r.json()) as { data?: any; errors?: unknown },
    );
  // Registered as Apollo Client registers a hash after PERSISTED_QUERY_NOT_FOUND: the text with its hash.
  await post(gateway.url, JSON.stringify({ query: dashboard.body, ...persisted(sha256(dashboard.body)) }));
  for (const mode of modes) {
    const json = await post(mode.gateway.url, mode.body);
    if (json.errors) throw new Error(`the dashboard by ${mode.label} answered errors: ${JSON.stringify(json.errors).slice(0, 300)}`);
    if (json.data?.users?.nodes?.length !== 20 || !json.data.orderStats) throw new Error(`the dashboard by ${mode.label} answered without the seeded data`);
  }

  const runs: Record<(typeof modes)[number]['key'], Run[]> = { text: [], apq: [], id: [] };
  // A fresh process: two warm-ups of each mode, so the first measured round does not pay for the JIT.
  for (let warm = 0; warm < 2; warm++) for (const mode of modes) await load(mode.gateway.url, mode.body, signedIn, WARMUP_SECONDS, mode.gateway.child.pid!);
  const loadBefore = os.loadavg()[0]!;
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of modes) {
      const result = await load(mode.gateway.url, mode.body, signedIn, SECONDS, mode.gateway.child.pid!);
      console.log(
        `bench gateway: dashboard by ${mode.key} round ${round + 1}: ${fmt(result.rps)} rps, p99 ${result.p99} ms, ${fmt(result.cpuMs / Math.max(result.requests, 1), 3)} CPU ms/request`,
      );
      runs[mode.key].push(result);
    }
  }
  const loadAfter = os.loadavg()[0]!;
  const micros = parseAndValidateMicros(dashboard.body);

  const summary = Object.fromEntries(
    modes.map((mode) => {
      const r = runs[mode.key];
      const requests = r.reduce((n, x) => n + x.requests, 0);
      return [
        mode.key,
        {
          rps: median(r.map((x) => x.rps)),
          all: r.map((x) => fmt(x.rps)).join(' / '),
          p50: median(r.map((x) => x.p50)),
          p99: median(r.map((x) => x.p99)),
          cpu: r.reduce((n, x) => n + x.cpuMs, 0) / Math.max(requests, 1),
          failed: r.reduce((n, x) => n + x.errors + x.non2xx, 0),
          bytes: Buffer.byteLength(mode.body),
        },
      ];
    }),
  ) as Record<(typeof modes)[number]['key'], { rps: number; all: string; p50: number; p99: number; cpu: number; failed: number; bytes: number }>;

  const lines = [
    '## Gateway: the dashboard query by text, by APQ hash, by manifest id',
    '',
    `One more Junction gateway process (compiled, NODE_ENV=production, every request signed in as the admin), the dashboard query of docs/api/operations/Dashboard.graphql ` +
      `(${dashboard.body.length} characters: 20 users with enrichment, events, confirmed orders and notifications, and orderStats) sent by POST three ways to that same process: ` +
      `its full text; its APQ hash alone (the text registered in Redis once before, as Apollo Client does); its manifest id (OPERATIONS_MANIFEST holding it as \`dashboard-v1\`, ` +
      `OPERATIONS_SAFELIST=log so that APQ stays on; an id is looked up the same way under enforce). Same data as above, autocannon with ${CONNECTIONS} connections, ` +
      `${ROUNDS} runs of ${SECONDS} s per mode after two ${WARMUP_SECONDS} s warm-ups of each, interleaved (text, hash, id, text, …). ` +
      `1-minute load average ${fmt(loadBefore, 1)} when these runs began and ${fmt(loadAfter, 1)} when they ended, on ${os.availableParallelism()} cores. ` +
      `Gateway CPU per request is the gateway process's user + system time (/proc/<pid>/stat, 10 ms ticks) over each run divided by the requests it answered, summed over the runs.`,
    '',
    '| sent as | request body bytes | req/s (median) | req/s per run | p50 ms | p99 ms | gateway CPU ms per request | failed requests |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...modes.map((mode) => {
      const x = summary[mode.key];
      return `| ${mode.label} | ${x.bytes} | ${fmt(x.rps)} | ${x.all} | ${x.p50} | ${x.p99} | ${fmt(x.cpu, 3)} | ${x.failed} |`;
    }),
    '',
    ...(['apq', 'id'] as const).map((key) => {
      const x = summary[key];
      const t = summary.text;
      return `- ${modes.find((mode) => mode.key === key)!.label} / full text: req/s ×${fmt(x.rps / t.rps, 2)}, p99 ×${fmt(x.p99 / Math.max(t.p99, 0.5), 2)}, gateway CPU per request ×${fmt(x.cpu / t.cpu, 2)} (${fmt(Math.abs(t.cpu - x.cpu) * 1000, 0)} µs ${x.cpu <= t.cpu ? 'less' : 'more'} per request), request body ×${fmt(x.bytes / t.bytes, 2)}`;
    }),
    `- Parsing and validating the dashboard's text against the API schema costs ${fmt(micros, 0)} µs of CPU (this process, ${2000} times after a warm-up). ` +
      `Apollo Server caches parsed and validated documents by the text's SHA-256 (its default document store), so a gateway that has seen the text already skips that in all three modes; ` +
      `what a hash or an id saves on a warm gateway is receiving the text and hashing it, and what it costs is the lookup (Redis for APQ, the in-memory manifest for an id).`,
  ];
  return lines;
}
