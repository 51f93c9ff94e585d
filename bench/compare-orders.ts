/**
 * A/B of the order path, for changing one thing at a time:
 *
 *   npx tsx bench/compare-orders.ts before=/tmp/a/dist after=dist after16=dist,ORDER_CONCURRENCY=16
 *
 * Each variant is a compiled tree (`npm run build` of some commit) and
 * optional settings for every process. Each round runs every variant once, in
 * turn (before, after, before, after, …), each on a fresh system (bench/system.ts):
 * placeOrder by BENCH_ORDERS_CLIENTS (50) clients in a closed loop with no
 * workers for BENCH_COMPARE_SECONDS (8), then a workers process drains that
 * backlog, notifications included. It prints each variant's medians over the
 * rounds (BENCH_COMPARE_ROUNDS, 3) and their ratio to the first variant's:
 * accepted/s and latency, drain rate, and CPU ms per order by process, which a
 * loaded machine disturbs much less than rates.
 */
import { summarize } from './measure.ts';
import { checkConsistency, costOf, openOrders, placedSoFar, placeOrders, setUp, snapshot, untilNoOpenOrders, untilNotified, type Cost } from './orders.ts';

process.env.LOG_LEVEL ??= 'silent';
const SECONDS = Number(process.env.BENCH_COMPARE_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_COMPARE_ROUNDS ?? 3);

interface Variant {
  label: string;
  dist: string;
  env: Record<string, string>;
}

interface Result {
  accepted: number;
  p50: number;
  p99: number;
  drained: number;
  accepting: Cost;
  processing: Cost;
}

function parseVariant(arg: string): Variant {
  const [label, rest] = arg.split(/=(.*)/s) as [string, string | undefined];
  if (!rest) throw new Error(`expected label=dist[,NAME=value…], got ${arg}`);
  const [dist, ...settings] = rest.split(',');
  return { label, dist: dist!, env: Object.fromEntries(settings.map((s) => s.split(/=(.*)/s).slice(0, 2) as [string, string])) };
}

async function once(variant: Variant): Promise<Result> {
  const setup = await setUp(`compare_${variant.label}`, { dist: variant.dist, env: variant.env, profileDir: process.env.BENCH_ORDERS_PROFILE });
  const { system, productId } = setup;
  try {
    await placeOrders(setup, 2);
    const beforeAccepting = await snapshot(system);
    const placed = await placeOrders(setup, SECONDS);
    const accepting = costOf('accepting', beforeAccepting, await snapshot(system), placed.latencies.length);
    const backlog = await openOrders(system);
    await system.startWorkers();
    const started = Date.now();
    const beforeProcessing = await snapshot(system);
    await untilNoOpenOrders(system);
    const drainSeconds = (Date.now() - started) / 1000;
    await untilNotified(system, await placedSoFar(system), Date.now());
    const processing = costOf('processing', beforeProcessing, await snapshot(system), backlog);
    await checkConsistency(system, productId);
    const latency = summarize(placed.latencies);
    return {
      accepted: placed.latencies.length / (placed.elapsedMs / 1000),
      p50: latency.p50,
      p99: latency.p99,
      drained: backlog / drainSeconds,
      accepting,
      processing,
    };
  } finally {
    await system.close();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const total = (cost: Cost) => Object.entries(cost.cpu).reduce((sum, [name, ms]) => (name === 'bench' ? sum : sum + ms), 0);

async function main(): Promise<void> {
  const variants = process.argv.slice(2).map(parseVariant);
  if (variants.length === 0) throw new Error('usage: compare-orders.ts label=dist[,NAME=value…] …');
  const results = new Map<string, Result[]>(variants.map((v) => [v.label, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of variants) {
      const result = await once(variant);
      results.get(variant.label)!.push(result);
      console.log(
        `round ${round} ${variant.label}: accepted ${result.accepted.toFixed(0)}/s p50 ${result.p50.toFixed(0)} p99 ${result.p99.toFixed(0)} ms, ` +
          `drain ${result.drained.toFixed(0)}/s, CPU/order accepting ${total(result.accepting).toFixed(2)} ms, processing ${total(result.processing).toFixed(2)} ms`,
      );
    }
  }
  const metrics: [string, (r: Result) => number][] = [
    ['accepted/s', (r) => r.accepted],
    ['placeOrder p50 ms', (r) => r.p50],
    ['placeOrder p99 ms', (r) => r.p99],
    ['drain orders/s', (r) => r.drained],
    ['accepting CPU ms/order', (r) => total(r.accepting)],
    ['processing CPU ms/order', (r) => total(r.processing)],
    ...['gateway', 'orders', 'postgresql'].map((name): [string, (r: Result) => number] => [`accepting ${name} ms`, (r) => r.accepting.cpu[name] ?? 0]),
    ...['workers', 'inventory', 'external', 'postgresql', 'redis'].map((name): [string, (r: Result) => number] => [
      `processing ${name} ms`,
      (r) => r.processing.cpu[name] ?? 0,
    ]),
    ['accepting commits/order', (r) => r.accepting.commits],
    ['processing commits/order', (r) => r.processing.commits],
  ];
  const first = variants[0]!.label;
  console.log(`\nmedians of ${ROUNDS} rounds (ratio to ${first}):`);
  console.log(`| metric | ${variants.map((v) => v.label).join(' | ')} |`);
  console.log(`| --- | ${variants.map(() => '---').join(' | ')} |`);
  for (const [label, pick] of metrics) {
    const base = median(results.get(first)!.map(pick));
    const cells = variants.map((v) => {
      const value = median(results.get(v.label)!.map(pick));
      return v.label === first ? value.toFixed(2) : `${value.toFixed(2)} (×${(value / base).toFixed(2)})`;
    });
    console.log(`| ${label} | ${cells.join(' | ')} |`);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
