/**
 * Subscriptions, against issue 19's goals: N open `orderUpdates` subscriptions
 * through one gateway process while orders change at R per second; p99
 * commit-to-client at most 250 ms, at most 20 KiB of gateway memory per idle
 * subscription, nothing lost.
 *
 * Junction runs compiled (`npm run build`, dist/), each service its own
 * process (bench/system.ts: the gateway, the five subgraphs, the simulated
 * partners; no workers), NODE_ENV=production, LOG_LEVEL=info, the default
 * SUBSCRIPTIONS_PER_VIEWER, heartbeat and queue settings. The clients are
 * graphql-ws clients (the `graphql-ws` library over `ws`) in the bench
 * process: N / BENCH_SUBS_PER_SOCKET sockets, each signed in as a user of its
 * own (the token in connectionParams.authorization), each carrying
 * BENCH_SUBS_PER_SOCKET subscriptions
 * `orderUpdates { cursor change { status at } order { id status } }` of its
 * viewer's orders. BENCH_SUBS_ACTIVE of those users have orders that change;
 * every other subscription stays idle (heartbeats only). The changes: for an
 * active user (round robin), placeOrder then, once it answers, cancelOrder,
 * each as that user straight to the orders subgraph (so the gateway's CPU is
 * the subscriptions' alone), started open loop so that R changes per second
 * are made (R / 2 orders), with at most BENCH_SUBS_IN_FLIGHT orders at once.
 *
 * Commit-to-client latency is the client's receipt (Date.now() in the bench
 * process) minus the change's `at` (PostgreSQL's now() of the statement that
 * made it, committed with it). Memory is each process's VmRSS before
 * subscribing, with N open and idle, and at most under load. CPU is
 * /proc/<pid>/stat (gateway, orders) and process.cpuUsage() (the clients).
 *
 * BENCH_SUBS_N (10000), BENCH_SUBS_PER_SOCKET (10), BENCH_SUBS_ACTIVE (20),
 * BENCH_SUBS_RATES (200,50: changes/s, one measured run each, in turn),
 * BENCH_SUBS_IN_FLIGHT (64 orders at most), BENCH_SUBS_SECONDS (20 per rate),
 * BENCH_SUBS_IDLE_SECONDS (10).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createProduct, createUser } from '../../test/support/orders.ts';
import { summarize } from '../measure.ts';
import { account, changeKey } from '../subscriptions.ts';
import { machineBusyMs, processCpuMs, startSystem, type System } from '../system.ts';

export const name = 'subscriptions';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const N = Number(process.env.BENCH_SUBS_N ?? 10_000);
const PER_SOCKET = Number(process.env.BENCH_SUBS_PER_SOCKET ?? 10);
const ACTIVE = Number(process.env.BENCH_SUBS_ACTIVE ?? 20);
const RATES = (process.env.BENCH_SUBS_RATES ?? process.env.BENCH_SUBS_RATE ?? '200,50').split(',').map(Number);
const IN_FLIGHT = Number(process.env.BENCH_SUBS_IN_FLIGHT ?? 64);
const SECONDS = Number(process.env.BENCH_SUBS_SECONDS ?? 20);
const IDLE_SECONDS = Number(process.env.BENCH_SUBS_IDLE_SECONDS ?? 10);
const GOAL_P99_MS = 250;
const GOAL_KIB = 20;

const SUBSCRIPTION = 'subscription Mine { orderUpdates { cursor change { status at } order { id status } } }';
const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }';
const CANCEL = 'mutation Cancel($id: ID!) { cancelOrder(id: $id) { id status } }';

const fmt = (value: number, digits = 0) => value.toFixed(digits);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
}

interface Phase {
  rate: number;
  changes: number;
  madeIn: number;
  delivered: number;
  latency: ReturnType<typeof summarize>;
  cpu: { gateway: number; orders: number; clients: number };
  /** CPU ms per second over the phase (changes and drain): every process on the machine (/proc/stat), and this system's processes with its PostgreSQL backends. */
  machine: number;
  system: number;
  clientsPerSecond: number;
  drained: boolean;
}

/** CPU ms this system has used so far: its processes and its PostgreSQL backends (not Redis, which other work shares). */
async function systemCpuMs(system: System): Promise<number> {
  const cpu = await system.cpuMs();
  return Object.entries(cpu).reduce((sum, [name, ms]) => (name === 'redis' ? sum : sum + ms), 0);
}

interface Watched {
  user: string;
  received: Map<string, number>;
}

/** Open subscriptions on the gateway, from its /metrics (every protocol). */
async function openOnGateway(base: string): Promise<number> {
  const text = await fetch(`${base}/metrics`).then((r) => r.text());
  let open = 0;
  for (const match of text.matchAll(/^junction_gateway_subscriptions_open(?:\{[^}]*\})? (\S+)$/gm)) open += Number(match[1]);
  return open;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export async function run(): Promise<string> {
  const uptimeBefore = execFileSync('uptime', { encoding: 'utf8' }).trim();
  console.log('bench subscriptions: npm run build …');
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const system = await startSystem('subscriptions', { env: { RATE_LIMIT_PER_MINUTE: '1000000' } });
  const clients: Client[] = [];
  try {
    const gateway = system.services.get('gateway')!;
    const orders = system.services.get('orders')!;
    const [gatewayPid, ordersPid] = [gateway.child.pid!, orders.child.pid!];
    const admin = await system.identity.headers('bench-admin', ['admin']);
    const productId = await createProduct(system.gatewayUrl, 10_000_000, admin);
    const sockets = Math.ceil(N / PER_SOCKET);
    const active = Math.min(ACTIVE, sockets);
    console.log(`bench subscriptions: ${active} active users, ${sockets - active} idle ones …`);
    const activeUsers: string[] = [];
    for (let i = 0; i < active; i += 10)
      activeUsers.push(...(await Promise.all(Array.from({ length: Math.min(10, active - i) }, () => createUser(system.gatewayUrl)))));
    const activeHeaders = new Map<string, Record<string, string>>();
    for (const user of activeUsers) activeHeaders.set(user, await system.identity.headers(user));

    await sleep(2000);
    const rssBefore = { gateway: rssKiB(gatewayPid), orders: rssKiB(ordersPid) };

    // The clients: one socket per user, PER_SOCKET subscriptions on each; only the active users' are watched closely.
    const watched: Watched[] = [];
    const latencies: number[] = [];
    let measuring = false;
    let idleEvents = 0;
    let ended = 0;
    let firstEnd = '';
    let opened = 0;
    console.log(`bench subscriptions: opening ${N} subscriptions over ${sockets} sockets …`);
    for (let s = 0; s < sockets; s++) {
      const user = s < active ? activeUsers[s]! : randomUUID();
      const token = s < active ? activeHeaders.get(user)!.authorization : (await system.identity.headers(user)).authorization;
      const client = createClient({
        url: system.gatewayUrl.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: token },
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      for (let k = 0; k < PER_SOCKET && opened < N; k++, opened++) {
        const entry: Watched | undefined = s < active ? { user, received: new Map() } : undefined;
        if (entry) watched.push(entry);
        client.subscribe<any>(
          { query: SUBSCRIPTION },
          {
            next: (result) => {
              const update = result.data?.orderUpdates;
              if (!entry || !update) {
                idleEvents += 1;
                return;
              }
              const key = changeKey(update.order.id, update.change.status);
              entry.received.set(key, (entry.received.get(key) ?? 0) + 1);
              if (measuring) latencies.push(Date.now() - Date.parse(update.change.at));
            },
            error: (error) => {
              ended += 1;
              firstEnd ||= JSON.stringify(error).slice(0, 300);
            },
            complete: () => {
              ended += 1;
            },
          },
        );
      }
      // A breath every 50 sockets, so the gateway is not handed every upgrade at once.
      if (s % 50 === 49)
        await until(async () => (await openOnGateway(gateway.base)) >= opened - PER_SOCKET * 50 || ended > 0, 120_000, 'the gateway to catch up');
      if (ended > 0) throw new Error(`subscriptions ended while opening: ${firstEnd}`);
    }
    await until(async () => (await openOnGateway(gateway.base)) >= N || ended > 0, 300_000, `${N} open subscriptions on the gateway`);
    if (ended > 0) throw new Error(`subscriptions ended while opening: ${firstEnd}`);

    // Each active user's subscriptions live end to end (registered on the orders subgraph too): a probe order each.
    const ordersUrl = system.urls.orders;
    const post = async (query: string, variables: Record<string, unknown>, headers: Record<string, string>) => {
      const response = await fetch(ordersUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const json = (await response.json()) as { data?: any; errors?: unknown };
      if (json.errors || !json.data) throw new Error(`orders subgraph answered ${JSON.stringify(json.errors).slice(0, 300)}`);
      return json.data;
    };
    const expected = new Map<string, Set<string>>(activeUsers.map((user) => [user, new Set<string>()]));
    const change = async (user: string) => {
      const headers = activeHeaders.get(user)!;
      const placed = await post(PLACE, { input: { productId, quantity: 1, idempotencyKey: randomUUID() } }, headers);
      expected.get(user)!.add(changeKey(placed.placeOrder.id, 'PENDING'));
      const cancelled = await post(CANCEL, { id: placed.placeOrder.id }, headers);
      expected.get(user)!.add(changeKey(cancelled.cancelOrder.id, 'CANCELLED'));
    };
    await Promise.all(activeUsers.map((user) => change(user)));
    const caughtUp = () => account(expected, watched).lost === 0;
    await until(caughtUp, 60_000, 'the probe orders on every active subscription');

    console.log(`bench subscriptions: ${N} open; idle for ${IDLE_SECONDS} s …`);
    await sleep(5000);
    const rssIdle = { gateway: rssKiB(gatewayPid), orders: rssKiB(ordersPid) };
    const idleCpu0 = { gateway: processCpuMs(gatewayPid), orders: processCpuMs(ordersPid), clients: process.cpuUsage() };
    await sleep(IDLE_SECONDS * 1000);
    const clientsIdle = process.cpuUsage(idleCpu0.clients);
    const idleCpu = {
      gateway: processCpuMs(gatewayPid) - idleCpu0.gateway,
      orders: processCpuMs(ordersPid) - idleCpu0.orders,
      clients: (clientsIdle.user + clientsIdle.system) / 1000,
    };

    const rssLoad = { ...rssIdle };
    const sampler = setInterval(() => {
      rssLoad.gateway = Math.max(rssLoad.gateway, rssKiB(gatewayPid));
      rssLoad.orders = Math.max(rssLoad.orders, rssKiB(ordersPid));
    }, 500);
    const uptimeLoad = execFileSync('uptime', { encoding: 'utf8' }).trim();
    let failed = 0;
    let firstFailure = '';
    const phases: Phase[] = [];
    for (const rate of RATES) {
      console.log(`bench subscriptions: ${rate} changes/s for ${SECONDS} s …`);
      const before = account(expected, watched);
      const cpu0 = {
        gateway: processCpuMs(gatewayPid),
        orders: processCpuMs(ordersPid),
        clients: process.cpuUsage(),
        machine: machineBusyMs(),
        system: await systemCpuMs(system),
      };
      latencies.length = 0;
      measuring = true;
      const started = Date.now();
      let begun = 0;
      let inFlight = 0;
      const pending: Promise<void>[] = [];
      // Open loop, at most IN_FLIGHT orders at once: past that the generator falls behind (the rate made is reported) rather than pile requests on a saturated machine.
      while (Date.now() - started < SECONDS * 1000) {
        const due = Math.floor(((Date.now() - started) / 1000) * (rate / 2));
        for (; begun < due && inFlight < IN_FLIGHT; begun++) {
          const user = activeUsers[begun % activeUsers.length]!;
          inFlight += 1;
          pending.push(
            change(user).then(
              () => void (inFlight -= 1),
              (error: unknown) => {
                inFlight -= 1;
                failed += 1;
                firstFailure ||= String((error as { cause?: unknown }).cause ?? error);
              },
            ),
          );
        }
        await sleep(10);
      }
      await Promise.all(pending);
      const madeIn = (Date.now() - started) / 1000;
      // Until every change made has arrived on every watched subscription, or 60 s have passed.
      const drained = await until(caughtUp, 60_000, 'every change delivered').then(
        () => true,
        () => false,
      );
      measuring = false;
      const phaseSeconds = (Date.now() - started) / 1000;
      const clientsCpu = process.cpuUsage(cpu0.clients);
      const [machineNow, systemNow] = [machineBusyMs(), await systemCpuMs(system)];
      const after = account(expected, watched);
      const phase: Phase = {
        rate,
        changes: (after.expected - before.expected) / PER_SOCKET,
        madeIn,
        delivered: after.delivered - before.delivered,
        latency: summarize(latencies),
        cpu: {
          gateway: processCpuMs(gatewayPid) - cpu0.gateway,
          orders: processCpuMs(ordersPid) - cpu0.orders,
          clients: (clientsCpu.user + clientsCpu.system) / 1000,
        },
        machine: (machineNow - cpu0.machine) / phaseSeconds,
        system: (systemNow - cpu0.system) / phaseSeconds,
        clientsPerSecond: (clientsCpu.user + clientsCpu.system) / 1000 / phaseSeconds,
        drained,
      };
      phases.push(phase);
      console.log(
        `bench subscriptions: ${rate}/s: ${phase.changes} changes in ${fmt(madeIn, 1)} s, p50 ${fmt(phase.latency.p50)} ms, p99 ${fmt(phase.latency.p99)} ms, lost so far ${after.lost}, failed ${failed}`,
      );
      await sleep(3000);
    }
    clearInterval(sampler);
    const uptimeAfter = execFileSync('uptime', { encoding: 'utf8' }).trim();
    const total = account(expected, watched);

    const perSub = (idle: number, base: number) => (idle - base) / N;
    const gatewayKiB = perSub(rssIdle.gateway, rssBefore.gateway);
    const ordersKiB = perSub(rssIdle.orders, rssBefore.orders);
    const nothingLost = total.lost === 0 && total.duplicates === 0 && total.unexpected === 0 && idleEvents === 0 && ended === 0;
    const mib = (kib: number) => fmt(kib / 1024, 1);
    const verdict = (met: boolean) => (met ? '**met**' : '**not met**');
    const cores = os.availableParallelism();
    const perEvent = (ms: number, p: Phase) => fmt(ms / Math.max(p.delivered, 1), 3);
    const main = phases[0]!;

    return [
      '## Subscriptions',
      '',
      `Command: \`npm run bench -- subscriptions\` with BENCH_SUBS_N=${N}, BENCH_SUBS_PER_SOCKET=${PER_SOCKET}, BENCH_SUBS_ACTIVE=${ACTIVE}, BENCH_SUBS_RATES=${RATES.join(',')}, BENCH_SUBS_SECONDS=${SECONDS}, BENCH_SUBS_IN_FLIGHT=${IN_FLIGHT}. ` +
        `\`uptime\` before the build: \`${uptimeBefore}\`; when the changes began: \`${uptimeLoad}\`; at the end: \`${uptimeAfter}\` (${cores} cores).`,
      '',
      `What ran: everything compiled (\`npm run build\`, \`node dist/…\`), each service its own process (bench/system.ts; no workers), NODE_ENV=production, LOG_LEVEL=info, default subscription settings. ` +
        `${N} \`orderUpdates\` subscriptions (\`{ cursor change { status at } order { id status } }\`, orders-owned fields only) over ${sockets} graphql-ws sockets to ONE gateway process, ` +
        `${PER_SOCKET} per socket, each socket signed in as a user of its own (connectionParams.authorization); the gateway carries them all to the orders subgraph over its one upstream graphql-ws socket. ` +
        `${active} users (${active * PER_SOCKET} subscriptions) have orders that change; the other ${N - active * PER_SOCKET} subscriptions only see heartbeats. ` +
        `Changes: placeOrder, then cancelOrder once it answers, as the user straight to the orders subgraph, open loop at R / 2 orders/s (R changes/s) with at most ${IN_FLIGHT} orders in flight (beyond that the generator falls behind, and the rate made is what the table says), ${SECONDS} s per rate; ` +
        `each change is delivered to its user's ${PER_SOCKET} subscriptions. Commit-to-client latency: the client's receipt minus the change's \`at\` (PostgreSQL's now() of the statement that made it). ` +
        `The clients and the change generator are one Node.js process (this bench) on the same ${cores} cores as everything else, kept cheap (a received event is a map update and a subtraction), but its own event loop's delays are in the latency too.`,
      '',
      '| changes/s offered | changes/s made | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | gateway CPU ms per event | orders CPU ms per event (per change, mutations included) | clients CPU ms per event | all delivered |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...phases.map(
        (p) =>
          `| ${p.rate} | ${fmt(p.changes / p.madeIn)} | ${fmt(p.delivered / p.madeIn)} | ${fmt(p.latency.p50)} | ${fmt(p.latency.p90)} | ${fmt(p.latency.p99)} | ${fmt(p.latency.max)} | ${perEvent(p.cpu.gateway, p)} | ${perEvent(p.cpu.orders, p)} (${fmt(p.cpu.orders / Math.max(p.changes, 1), 2)}) | ${perEvent(p.cpu.clients, p)} | ${p.drained ? 'yes' : 'no, 60 s after the last change'} |`,
      ),
      '',
      '| memory and idle cost | gateway | orders subgraph |',
      '| --- | --- | --- |',
      `| RSS before subscribing | ${mib(rssBefore.gateway)} MiB | ${mib(rssBefore.orders)} MiB |`,
      `| RSS with ${N} open, idle | ${mib(rssIdle.gateway)} MiB | ${mib(rssIdle.orders)} MiB |`,
      `| RSS at most under load | ${mib(rssLoad.gateway)} MiB | ${mib(rssLoad.orders)} MiB |`,
      `| per open idle subscription | **${fmt(gatewayKiB, 1)} KiB** (${fmt(gatewayKiB * PER_SOCKET, 1)} KiB per socket of ${PER_SOCKET}) | ${fmt(ordersKiB, 1)} KiB |`,
      `| CPU with ${N} open and idle (heartbeats every SUBSCRIPTION_HEARTBEAT_MS) | ${fmt(idleCpu.gateway / IDLE_SECONDS)} ms/s | ${fmt(idleCpu.orders / IDLE_SECONDS)} ms/s (clients: ${fmt(idleCpu.clients / IDLE_SECONDS)} ms/s) |`,
      '',
      `Delivered vs expected over the whole run (probe orders and every rate): ${total.delivered} of ${total.expected}; lost ${total.lost}, duplicates ${total.duplicates}, unexpected ${total.unexpected}; events on idle subscriptions ${idleEvents}; subscriptions ended ${ended}. ` +
        `Mutations that failed (their changes, if any, are expected all the same): ${failed}${firstFailure ? ` (the first: ${firstFailure.slice(0, 200)})` : ''}.`,
      '',
      '### What the load on the machine means for these numbers',
      '',
      `The machine gives ${cores * 1000} ms of CPU per second. ` +
        phases
          .map(
            (p) =>
              `While changes were made at ${fmt(p.changes / p.madeIn)}/s (offered ${p.rate}/s) it was busy ${fmt(p.machine)} ms/s: this system (gateway, subgraphs, partners and its PostgreSQL backends) ${fmt(p.system)} ms/s, ` +
              `the clients ${fmt(p.clientsPerSecond)} ms/s, and other work (other sessions' builds and tests, Redis) ${fmt(Math.max(0, p.machine - p.system - p.clientsPerSecond))} ms/s.`,
          )
          .join(' ') +
        ` A 1-minute load average around ${fmt(os.loadavg()[0]!, 0)} on ${cores} cores means several runnable threads per core: every process here, the gateway included, waited its turn for a core. ` +
        `The gateway's own work per event is ${perEvent(main.cpu.gateway, main)} ms of CPU (${fmt(main.cpu.gateway / Math.max(main.madeIn, 1))} ms/s at ${fmt(main.delivered / main.madeIn)} deliveries/s), so at ${main.rate}/s offered ` +
        (main.changes / main.madeIn < main.rate * 0.95
          ? `the generator could not make the rate (the orders subgraph's ${fmt(main.cpu.orders / Math.max(main.changes, 1), 2)} ms of CPU per change, mutations included, on cores shared with everything else) and the latency is mostly time spent waiting for a core and behind the changes queued before, not the gateway's cost per event; `
          : 'the rate was made; ') +
        `on a machine of its own the latency would be lower and the rate made higher, by an amount this run cannot tell. Memory per subscription does not depend on the load; CPU per event is somewhat inflated by contention (context switches, cold caches).`,
      '',
      '### Goals',
      '',
      `- p99 commit-to-client at most ${GOAL_P99_MS} ms at ${main.rate} changes/s: ${verdict(main.latency.p99 <= GOAL_P99_MS && main.changes / main.madeIn >= main.rate * 0.95)} (${fmt(main.latency.p99)} ms at ${fmt(main.changes / main.madeIn)} changes/s made)` +
        (phases.length > 1
          ? `; ${phases
              .slice(1)
              .map((p) => `${fmt(p.latency.p99)} ms at ${fmt(p.changes / p.madeIn)} changes/s`)
              .join(', ')}.`
          : '.'),
      `- at most ${GOAL_KIB} KiB of gateway memory per idle subscription: ${verdict(gatewayKiB <= GOAL_KIB)} (${fmt(gatewayKiB, 1)} KiB; the anchor, Cosmo Router: 150–200 MB for 10,000 idle clients, 15–20 KiB each, one client per connection, where here ${PER_SOCKET} subscriptions share a socket).`,
      `- nothing lost: ${verdict(nothingLost)}${firstEnd ? ` (first ended stream: ${firstEnd})` : ''}.`,
    ].join('\n');
  } finally {
    for (const client of clients) void client.dispose();
    await system.close();
  }
}
