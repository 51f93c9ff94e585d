/**
 * `npm run chaos -- --minutes N [--seed S] [--report FILE] [--history FILE]`: the compiled
 * system (dist/, from `npm run build`; this command builds nothing) on a
 * PostgreSQL cluster and a Redis of its own, a seeded mixed workload through
 * the gateway while a seeded nemesis kills, freezes and starves its processes,
 * then heal, quiescence and an audit of every operation against the database
 * and the notification provider (docs/reliability.md); `--history` also writes
 * the operations, faults and what the audit read as JSON. Exits 1 on a violation,
 * 2 when it cannot run (no dist/, a bad argument).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import type { Sql } from 'postgres';
import { startSystem } from '../../bench/system.ts';
import { SERVICE_KEY_HEADER } from '../../common/auth.ts';
import { QUEUE_NAMES } from '../../subgraphs/index.ts';
import { invariantViolations } from '../../test/support/invariants.ts';
import { PrivateRedis } from '../../test/support/orders.ts';
import { PrivatePostgres } from '../../test/support/postgres.ts';
import { audit, figures, type Snapshot, type Violation } from './audit.ts';
import { healAll, runNemesis, type Targets } from './nemesis.ts';
import { renderReport, writeReport } from './report.ts';
import { nemesisSchedule, SERVICE_TARGETS } from './schedule.ts';
import { Watcher, Workload } from './workload.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const log = (line: string) => console.log(`chaos: ${line}`);

function usage(message: string): never {
  console.error(`chaos: ${message}\nusage: npm run chaos -- --minutes N [--seed S] [--report FILE] [--history FILE]`);
  process.exit(2);
}

const { values } = parseArgs({ options: { minutes: { type: 'string' }, seed: { type: 'string' }, report: { type: 'string' }, history: { type: 'string' } } });
const minutes = Number(values.minutes);
if (!values.minutes || !Number.isFinite(minutes) || minutes <= 0) usage('--minutes must be a positive number (fractions allowed, e.g. 1.5)');
const seed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(values.seed);
if (!Number.isSafeInteger(seed) || seed < 0) usage('--seed must be a whole number');
const reportFile = values.report ?? join(ROOT, 'docs/reliability.md');
const ENTRIES = ['gateway/index.js', 'workers/index.js', 'external/index.js', 'subgraphs/orders/index.js'];
for (const entry of ENTRIES) {
  if (!existsSync(join(ROOT, 'dist', entry))) {
    console.error(`chaos: dist/${entry} is missing: run \`npm run build\` first (the chaos run exercises the compiled system, as production runs it)`);
    process.exit(2);
  }
}
const stale = newerSources(Math.min(...ENTRIES.map((entry) => statSync(join(ROOT, 'dist', entry)).mtimeMs)));
if (stale) console.warn(`chaos: warning: ${stale} is newer than dist/: this run exercises the last build; run \`npm run build\` to test the sources`);

/** A source file of the services changed after `sinceMs` (dist/ may be stale), if any. */
function newerSources(sinceMs: number): string | undefined {
  const walk = (dir: string): string | undefined => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name === 'test' || entry.name === 'node_modules') continue;
        const found = walk(path);
        if (found) return found;
      } else if (path.endsWith('.ts') && !path.endsWith('.test.ts') && statSync(join(ROOT, path)).mtimeMs > sinceMs) return path;
    }
    return undefined;
  };
  for (const dir of ['common', 'gateway', 'subgraphs', 'workers', 'external']) {
    const found = walk(dir);
    if (found) return found;
  }
  return undefined;
}

// Short breaker waits and recovery sweeps, so a run of minutes sees many outages heal; each a documented setting.
// The retry schedules stay longer in all than a breaker's 10 s rolling window, as the defaults are: a breaker
// opens once failures pass half of the calls in that window, and shorter schedules are used up by an outage
// before it opens (docs/reliability.md, "Findings").
const NOTIFY_RETRY_DELAYS = [1000, 4000, 8000];
const SETTINGS: Record<string, string> = {
  NOTIFY_RETRY_DELAYS_MS: NOTIFY_RETRY_DELAYS.join(','),
  ORDER_RETRY_DELAYS_MS: '1000,4000,8000',
  INVENTORY_TIMEOUT_MS: '2000',
  SUBGRAPH_TIMEOUT_MS: '5000',
  BREAKER_RESET_TIMEOUT_MS: '1000',
  BREAKER_MAX_RESET_TIMEOUT_MS: '4000',
  ORDER_RECOVERY_MS: '5000',
  NOTIFY_RECOVERY_MS: '5000',
  WORKER_LOCK_MS: '10000',
  OUTBOX_POLL_MS: '200',
  RATE_LIMIT_PER_MINUTE: '0',
  LOG_LEVEL: 'warn',
};
const CLIENTS = 4;
const WATCHERS = 3;
const QUIESCENCE_TIMEOUT_MS = 120_000;

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${loadavg()
  .map((l) => l.toFixed(1))
  .join(' ')} at start`;
log(`seed ${seed}, ${minutes} min; ${machine}`);

const postgres = await PrivatePostgres.start();
const redis = await PrivateRedis.start();
log(`PostgreSQL on ${postgres.port}, Redis on ${redis.port} (both of this run only)`);
let system: Awaited<ReturnType<typeof startSystem>> | undefined;
let exitCode = 2;
try {
  system = await startSystem('chaos', { adminUrl: postgres.adminUrl, env: { ...SETTINGS, REDIS_URL: redis.url } });
  await system.startWorkers();
  const external = `http://127.0.0.1:${system.env.EXTERNAL_PORT}`;
  const service = { [SERVICE_KEY_HEADER]: system.env.SERVICE_API_KEY! };
  const admin = await system.identity.headers('chaos-admin', ['admin']);
  log(`the compiled system is up: ${[...system.services.keys()].join(', ')}`);

  const rss = (name: string) => {
    const pid = system!.services.get(name)?.child.pid;
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
    } catch {
      return Number.NaN;
    }
  };
  const names = ['external', ...SERVICE_TARGETS];
  const rssStart = Object.fromEntries(names.map((n) => [n, rss(n)]));

  const workload = new Workload({ gatewayUrl: system.gatewayUrl, identity: system.identity, admin, ingestKey: system.env.INGEST_API_KEY!, seed });
  await workload.setUp(6, 60, 12);

  // Subscribers: each watches a user of its own; an order placed and seen tells it the stream is live.
  const watchers: Watcher[] = [];
  for (const userId of workload.users.slice(0, WATCHERS)) {
    const watcher = new Watcher(system.gatewayUrl, userId, await workload.as(userId));
    watcher.start();
    watchers.push(watcher);
  }
  const excluded = new Map<Watcher, string[]>();
  for (const watcher of watchers) {
    const placed: string[] = [];
    let live = false;
    for (let attempt = 0; attempt < 5 && !live; attempt++) {
      const op = await workload.placeOrder(0, () => 0.5, watcher.userId);
      if (op.outcome === 'ok') {
        placed.push(op.result!.id);
        live = await watcher.sawOrder(op.result!.id, 10_000);
      }
    }
    if (!live) throw new Error(`the orderUpdates subscription of user ${watcher.userId} delivered nothing`);
    excluded.set(watcher, placed);
  }

  const windowMs = minutes * 60_000;
  const plan = nemesisSchedule(seed, { windowMs, notifyRetryTotalMs: NOTIFY_RETRY_DELAYS.reduce((a, b) => a + b, 0) });
  log(`workload: ${CLIENTS} clients, ${WATCHERS} subscribers, ${plan.length} faults planned over ${minutes} min`);
  const startMs = Date.now();
  const over = () => Date.now() - startMs >= windowMs;
  const targets: Targets = { system, postgres, redis, external, service, log };
  const [faults] = await Promise.all([runNemesis(targets, plan, startMs, over), workload.run(CLIENTS, over)]);
  log(`workload over: ${workload.history.length} operations; healing`);
  await healAll(targets);

  const quiet = await waitForQuiescence(system.db.sql, system.env.REDIS_URL!, system.env.QUEUE_PREFIX!, QUIESCENCE_TIMEOUT_MS);
  log(quiet.ok ? `at rest after ${(quiet.waitedMs / 1000).toFixed(1)} s` : `not at rest after ${QUIESCENCE_TIMEOUT_MS / 1000} s: ${quiet.note}`);
  // The subscribers get the last changes (the system is at rest: nothing is in flight).
  await new Promise((resolve) => setTimeout(resolve, 3000));
  for (const watcher of watchers) watcher.stop();

  const snapshot = await takeSnapshot(system.db.sql, external, quiet);
  snapshot.subscribers = watchers.map((w) => w.report(excluded.get(w) ?? []));
  const violations = audit(workload.history, snapshot, faults);
  const figs = figures(workload.history, faults);
  const rssEnd = Object.fromEntries(names.map((n) => [n, rss(n)]));

  const report = renderReport({
    seed,
    minutes,
    machine,
    settings: SETTINGS,
    clients: CLIENTS,
    faults,
    startMs,
    figures: figs,
    snapshot,
    violations,
    rss: Object.fromEntries(names.map((n) => [n, { start: rssStart[n]!, end: rssEnd[n]! }])),
    quiescenceMs: quiet.waitedMs,
    totalOperations: workload.history.length,
  });
  writeReport(reportFile, minutes, report);
  if (values.history) writeFileSync(values.history, JSON.stringify({ seed, minutes, faults, history: workload.history, snapshot, violations }, null, 1));
  console.log(report);
  printViolations(violations, workload.history);
  log(`report written to ${reportFile}`);
  exitCode = violations.length === 0 ? 0 : 1;
} catch (error) {
  console.error(`chaos: the run could not be completed: ${(error as Error).stack ?? error}`);
  exitCode = 2;
} finally {
  await system?.close().catch((error) => console.error(`chaos: closing the system: ${(error as Error).message}`));
  await redis.stop().catch(() => {});
  await postgres.destroy().catch(() => {});
}
process.exit(exitCode);

function printViolations(violations: Violation[], history: Workload['history']): void {
  if (violations.length === 0) return log('no violation');
  console.error(`chaos: ${violations.length} violation(s):`);
  for (const v of violations.slice(0, 100)) {
    console.error(`  [${v.rule}] ${v.message}`);
    for (const id of v.operations.slice(0, 5)) console.error(`      op ${JSON.stringify(history.find((op) => op.id === id))}`);
  }
}

interface Quiet {
  ok: boolean;
  waitedMs: number;
  note: string;
}

/** Waits until no work is left: orders terminal, notifications settled and recorded, outboxes published, queues empty, invariants holding. */
async function waitForQuiescence(sql: Sql, redisUrl: string, prefix: string, timeoutMs: number): Promise<Quiet> {
  const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: { url: redisUrl, maxRetriesPerRequest: 1 }, prefix }));
  for (const queue of queues) queue.on('error', () => {});
  const began = Date.now();
  let lastSaid = began;
  let note = '';
  try {
    for (;;) {
      try {
        const [row] = await sql`
          select
            (select count(*) from orders.orders where status in ('PENDING', 'PROCESSING'))::int as open_orders,
            (select count(*) from notifications.notifications where status in ('QUEUED', 'RETRYING'))::int as open_notifications,
            ((select count(*) from orders.outbox where published_at is null) + (select count(*) from users.outbox where published_at is null)
              + (select count(*) from notifications.outbox where published_at is null))::int as unpublished,
            (select count(*) from orders.orders o
              where exists (select 1 from orders.order_status_changes h where h.order_id = o.id and h.status in ('CONFIRMED', 'FAILED'))
              and not exists (select 1 from notifications.notifications n where n.type in ('ORDER_CONFIRMED', 'ORDER_FAILED') and n.payload->>'orderId' = o.id::text))::int as unannounced_orders,
            (select count(*) from users.users u
              where not exists (select 1 from notifications.notifications n where n.type = 'USER_SIGNUP' and n.user_id = u.id::text))::int as unannounced_users`;
        const busy = Object.entries(row!).filter(([, n]) => n > 0);
        const jobs: string[] = [];
        for (const queue of queues) {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'paused');
          const left = Object.entries(counts).filter(([, n]) => n > 0);
          if (left.length) jobs.push(`${queue.name}: ${left.map(([k, n]) => `${n} ${k}`).join(', ')}`);
        }
        const broken = busy.length === 0 && jobs.length === 0 ? await invariantViolations(sql) : [];
        note = [...busy.map(([k, n]) => `${n} ${k.replace('_', ' ')}`), ...jobs, ...broken.slice(0, 3)].join('; ');
        if (!note) return { ok: true, waitedMs: Date.now() - began, note };
      } catch (error) {
        note = `cannot ask: ${(error as Error).message}`;
      }
      if (Date.now() - began > timeoutMs) return { ok: false, waitedMs: Date.now() - began, note };
      if (Date.now() - lastSaid > 15_000) {
        lastSaid = Date.now();
        log(`waiting for rest: ${note}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await Promise.all(queues.map((q) => q.close().catch(() => {})));
  }
}

async function takeSnapshot(sql: Sql, external: string, quiet: Quiet): Promise<Snapshot> {
  const orders = await sql`
    select o.id, o.user_id, o.product_id, o.quantity, o.status, o.failure_reason, o.idempotency_key,
      (select array_agg(h.status::text order by h.position, h.id) from orders.order_status_changes h where h.order_id = o.id) as history
    from orders.orders o`;
  const users = await sql`select id from users.users`;
  const notifications = await sql`
    select event_id, type, user_id, status, attempts, payload->>'orderId' as order_id,
      (extract(epoch from created_at) * 1000)::bigint as created_ms, (extract(epoch from updated_at) * 1000)::bigint as updated_ms
    from notifications.notifications`;
  const get = async (path: string) => {
    const response = await fetch(`${external}${path}`, { signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`the provider's ${path} answered ${response.status}`);
    return response.json() as Promise<any[]>;
  };
  const deliveries = await get('/messages');
  const calls = await get('/_calls?service=notify');
  return {
    orders: orders.map((o) => ({
      id: o.id,
      userId: o.user_id,
      productId: o.product_id,
      quantity: o.quantity,
      status: o.status,
      failureReason: o.failure_reason,
      idempotencyKey: o.idempotency_key,
      history: o.history ?? [],
    })),
    users: users.map((u) => u.id),
    notifications: notifications.map((n) => ({
      eventId: n.event_id,
      type: n.type,
      userId: n.user_id,
      status: n.status,
      attempts: n.attempts,
      ...(n.order_id ? { orderId: n.order_id } : {}),
      createdMs: Number(n.created_ms),
      updatedMs: Number(n.updated_ms),
    })),
    deliveries: deliveries.map((d) => ({
      idempotencyKey: d.idempotencyKey,
      eventId: d.body?.eventId,
      type: d.body?.type,
      orderId: d.body?.payload?.orderId,
      userId: d.body?.userId,
      requests: d.requests,
    })),
    providerCalls: calls.filter((c) => c.path === '/messages' && c.method === 'POST').map((c) => ({ timeMs: c.time, status: c.status })),
    invariantViolations: await invariantViolations(sql),
    subscribers: [],
    quiesced: quiet.ok,
    ...(quiet.ok ? {} : { quiescenceNote: quiet.note }),
  };
}
