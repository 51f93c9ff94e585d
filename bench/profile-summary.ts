/**
 * Where a process's CPU went, by cause, from `node --cpu-prof` profiles (the
 * ones bench/compare-orders.ts and bench orders write with
 * BENCH_ORDERS_PROFILE=<dir>):
 *
 *   npx tsx bench/profile-summary.ts <dir or .cpuprofile>…
 *
 * Each sample goes to the innermost frame on its stack that names a cause
 * (a library or a Junction module: token verification, rate limit, logging,
 * metrics, tracing, validation, SQL building, BullMQ, …); frames that name
 * none (V8 builtins, node: internals) go to the caller that does. Prints each
 * profile's shares (of the time it was not idle) as Markdown; proportions
 * survive a loaded machine better than absolute times. Then Junction's named
 * causes counted inclusive (every sample with the cause anywhere on its stack:
 * the query limits' graphql-js walks, the rate limit's Redis call).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/** Causes by the path of the frame's script (innermost match wins); first match of this list. */
const CAUSES: [string, RegExp][] = [
  ['token verification (jose, common/auth)', /node_modules\/jose\/|\/common\/auth\.js|\/gateway\/auth|\/common\/identity/],
  ['rate limit (gateway/rate-limit)', /\/gateway\/rate-limit\.js/],
  ['query limits (gateway/limits)', /\/gateway\/limits\.js/],
  [
    'logging (pino)',
    /node_modules\/(pino|pino-std-serializers|sonic-boom|fast-redact|quick-format-unescaped|on-exit-leak-free|thread-stream)\/|\/common\/logger\.js/,
  ],
  [
    'metrics (prom-client)',
    /node_modules\/prom-client\/|\/common\/metrics\.js|\/common\/graphql-metrics\.js|\/gateway\/metrics\.js|\/workers\/(orders|notifications)\/metrics\.js/,
  ],
  ['tracing (OpenTelemetry)', /node_modules\/@opentelemetry\/|\/common\/tracing\.js/],
  ['validation (zod)', /node_modules\/zod\//],
  ['GraphQL validation', /node_modules\/graphql\/validation\//],
  ['GraphQL parse', /node_modules\/graphql\/language\//],
  ['GraphQL execution', /node_modules\/graphql\/(execution|type|utilities|jsutils)\//],
  ['query planning and gateway (@apollo/gateway, federation)', /node_modules\/@apollo\/(gateway|query-planner|federation-internals|composition)\//],
  ['Apollo Server', /node_modules\/@apollo\/(server|utils\.[^/]+|subgraph)\//],
  ['SQL building (drizzle-orm)', /node_modules\/drizzle-orm\//],
  ['PostgreSQL client (postgres.js)', /node_modules\/postgres\//],
  ['BullMQ', /node_modules\/bullmq\//],
  ['Redis client (ioredis)', /node_modules\/(ioredis|@ioredis|redis-parser|cluster-key-slot|denque|standard-as-callback)\//],
  ['HTTP client (undici)', /node_modules\/undici\/|node:internal\/deps\/undici/],
  [
    'HTTP server (express, body-parser)',
    /node_modules\/(express|router|body-parser|raw-body|iconv-lite|type-is|content-type|finalhandler|send|qs|on-finished|cors|cookie)\//,
  ],
  ['the outbox relay (workers/outbox-relay)', /\/workers\/outbox-relay\.js/],
  ['the order worker (workers/orders)', /\/workers\/orders\//],
  ['the notification workers (workers/notifications)', /\/workers\/notifications\//],
  ['Junction subgraph code (subgraphs/)', /\/subgraphs\//],
  ['Junction gateway code (gateway/)', /\/gateway\//],
  ['Junction common code (common/)', /\/common\//],
  ['other libraries', /node_modules\//],
  ['node internals (net, http, streams, timers)', /^node:/],
];

const SPECIAL: Record<string, string> = {
  '(garbage collector)': 'garbage collection',
  '(program)': 'V8/native, no JS frame',
  '(idle)': 'idle',
  '(root)': 'V8/native, no JS frame',
};

/** Causes named only when no frame above names a more specific one. */
const GENERIC = new Set(['Junction common code (common/)', 'other libraries', 'node internals (net, http, streams, timers)']);
const STARTUP = 'start-up (loading and compiling modules)';

export function summarize(profile: Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const memo = new Map<number, { specific?: string; generic?: string; startup: boolean }>();
  const walk = (id: number): { specific?: string; generic?: string; startup: boolean } => {
    const known = memo.get(id);
    if (known) return known;
    const node = byId.get(id)!;
    const up = parent.get(id);
    const above = up === undefined ? { startup: false } : walk(up);
    const own = CAUSES.find(([, pattern]) => pattern.test(node.callFrame.url))?.[0];
    const result = {
      specific: own && !GENERIC.has(own) ? own : above.specific,
      generic: own && GENERIC.has(own) ? own : above.generic,
      startup: above.startup || /^node:internal\/modules\//.test(node.callFrame.url),
    };
    memo.set(id, result);
    return result;
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const found = walk(id);
    const cause =
      (node.callFrame.url === '' && SPECIAL[node.callFrame.functionName]) ||
      (found.startup ? STARTUP : undefined) ||
      found.specific ||
      found.generic ||
      'V8/native, no JS frame';
    totals.set(cause, (totals.get(cause) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return totals;
}

/** Junction's named causes, counted inclusive: a sample counts for each of them found anywhere on its stack (so shares overlap). */
const INCLUSIVE: [string, RegExp][] = [
  ['token verification (jose)', /node_modules\/jose\//],
  ['rate limit (rate-limiter-flexible and its Redis call)', /node_modules\/rate-limiter-flexible\//],
  ['query limits (gateway/limits)', /\/gateway\/limits\.js/],
  ['logging (pino, its writes)', /node_modules\/(pino|sonic-boom)\//],
  ['metrics (prom-client)', /node_modules\/prom-client\//],
  ['validation (zod)', /node_modules\/zod\//],
  ['SQL building (drizzle-orm)', /node_modules\/drizzle-orm\//],
  ['PostgreSQL client (postgres.js)', /node_modules\/postgres\//],
  ['BullMQ (and its Redis calls)', /node_modules\/bullmq\//],
  ['HTTP client (undici)', /node_modules\/undici\/|internal\/deps\/undici/],
  ['the outbox relay', /\/workers\/outbox-relay\.js/],
];

export function inclusive(profile: Profile): { busy: number; shares: Map<string, number> } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const memo = new Map<number, Set<string>>();
  const causesOn = (id: number): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const up = parent.get(id);
    const found = new Set(up === undefined ? [] : causesOn(up));
    const url = byId.get(id)!.callFrame.url;
    for (const [name, pattern] of INCLUSIVE) if (pattern.test(url)) found.add(name);
    memo.set(id, found);
    return found;
  };
  let busy = 0;
  const shares = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    if (byId.get(id)!.callFrame.functionName === '(idle)') return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    busy += ms;
    for (const name of causesOn(id)) shares.set(name, (shares.get(name) ?? 0) + ms);
  });
  return { busy, shares };
}

function files(args: string[]): string[] {
  return args.flatMap((arg) =>
    statSync(arg).isDirectory()
      ? readdirSync(arg)
          .filter((f) => f.endsWith('.cpuprofile'))
          .sort()
          .map((f) => join(arg, f))
      : [arg],
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of files(process.argv.slice(2))) {
    const totals = summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    const busy = [...totals].filter(([cause]) => cause !== 'idle').reduce((sum, [, ms]) => sum + ms, 0);
    console.log(`\n#### ${basename(file)}: ${busy.toFixed(0)} ms not idle\n\n| cause | ms | share |\n| --- | --- | --- |`);
    for (const [cause, ms] of [...totals].filter(([cause]) => cause !== 'idle').sort((a, b) => b[1] - a[1])) {
      if (ms / busy < 0.005) continue;
      console.log(`| ${cause} | ${ms.toFixed(0)} | ${((ms / busy) * 100).toFixed(1)}% |`);
    }
    const named = inclusive(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    console.log(`\nNamed causes, inclusive (a sample counts for every cause on its stack):\n\n| cause | ms | share |\n| --- | --- | --- |`);
    for (const [cause, ms] of [...named.shares].sort((a, b) => b[1] - a[1])) {
      if (ms / named.busy >= 0.002) console.log(`| ${cause} | ${ms.toFixed(0)} | ${((ms / named.busy) * 100).toFixed(1)}% |`);
    }
  }
}
