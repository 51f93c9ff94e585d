/**
 * The nemesis of `npm run chaos`: carries out the seeded schedule of faults
 * (scripts/chaos/schedule.ts) against the running system, one after another,
 * each healed before the next, and heals everything at the end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { System } from '../../bench/system.ts';
import type { PrivatePostgres } from '../../test/support/postgres.ts';
import { gremlin, type PrivateRedis } from '../../test/support/orders.ts';
import type { FaultWindow } from './audit.ts';
import { describeFault, SERVICE_TARGETS, type Fault, type PlannedFault } from './schedule.ts';

export interface Targets {
  system: System;
  postgres: PrivatePostgres;
  redis: PrivateRedis;
  /** The simulated partners' base URL (chaos controls at /_chaos). */
  external: string;
  /** Headers carrying the workers' service key (the inventory gremlin is internal). */
  service: Record<string, string>;
  log(line: string): void;
}

async function providerChaos(external: string, settings: { failureRate: number } | null): Promise<void> {
  const response = await fetch(`${external}/_chaos/notify`, {
    method: settings ? 'POST' : 'DELETE',
    headers: { 'content-type': 'application/json' },
    body: settings ? JSON.stringify({ ...settings, latencyMs: 0 }) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`the provider's chaos control answered ${response.status}`);
}

const running = (t: Targets, name: string) => {
  const child = t.system.services.get(name)?.child;
  return child !== undefined && child.exitCode === null && child.signalCode === null;
};

/** Starts `name` again until it answers its probe (a dependency may be coming back meanwhile). */
async function restart(t: Targets, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await t.system.restart(name);
      return;
    } catch (error) {
      t.system.services.get(name)?.child.kill('SIGKILL');
      if (attempt >= 5) throw new Error(`${name} did not come back after ${attempt} starts: ${(error as Error).message}`);
      t.log(`${name} did not come back (${(error as Error).message}); starting it again`);
    }
  }
}

async function inject(t: Targets, fault: Fault): Promise<void> {
  switch (fault.kind) {
    case 'kill': {
      const child = t.system.services.get(fault.target)?.child;
      if (child && running(t, fault.target)) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      await sleep(fault.restartAfterMs);
      await restart(t, fault.target);
      return;
    }
    case 'pause': {
      const child = t.system.services.get(fault.target)?.child;
      child?.kill('SIGSTOP');
      await sleep(fault.durationMs);
      child?.kill('SIGCONT');
      return;
    }
    case 'provider-down':
    case 'provider-flaky':
      await providerChaos(t.external, { failureRate: fault.kind === 'provider-down' ? 1 : fault.failureRate });
      await sleep(fault.durationMs);
      await providerChaos(t.external, null);
      return;
    case 'inventory-slow':
      await gremlin(t.system.urls.inventory, { every: fault.every, latencyMs: fault.latencyMs }, t.service);
      await sleep(fault.durationMs);
      await gremlin(t.system.urls.inventory, null, t.service);
      return;
    case 'redis-empty':
      await t.redis.kill();
      await sleep(fault.durationMs);
      await t.redis.start();
      return;
    case 'postgres-restart':
      await t.postgres.stop();
      await sleep(fault.durationMs);
      await t.postgres.start();
      return;
  }
}

/**
 * Runs the planned faults from `startMs` (each at its time, or at once when
 * the previous one ran late) until `stopped()`; returns each fault's window.
 */
export async function runNemesis(t: Targets, plan: PlannedFault[], startMs: number, stopped: () => boolean): Promise<FaultWindow[]> {
  const windows: FaultWindow[] = [];
  for (const { atMs, fault } of plan) {
    const wait = startMs + atMs - Date.now();
    if (wait > 0) await sleep(wait);
    if (stopped()) break;
    const description = describeFault(fault);
    const window: FaultWindow = { description, kind: fault.kind, startMs: Date.now(), endMs: 0 };
    t.log(`fault at +${((window.startMs - startMs) / 1000).toFixed(1)} s: ${description}`);
    try {
      await inject(t, fault);
    } catch (error) {
      window.description += ` (injecting failed: ${(error as Error).message})`;
      t.log(`fault ${description}: ${(error as Error).message}`);
    }
    window.endMs = Date.now();
    windows.push(window);
  }
  return windows;
}

/** Undoes any fault: every process running and resumed, the partners and inventory calm, PostgreSQL and Redis up. */
export async function healAll(t: Targets): Promise<void> {
  for (const name of SERVICE_TARGETS) t.system.services.get(name)?.child.kill('SIGCONT');
  await t.postgres.start().catch(() => {});
  if (!(await redisUp(t.redis))) await t.redis.start();
  await providerChaos(t.external, null);
  for (const name of SERVICE_TARGETS) if (!running(t, name)) await restart(t, name);
  await gremlin(t.system.urls.inventory, null, t.service);
}

async function redisUp(redis: PrivateRedis): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
