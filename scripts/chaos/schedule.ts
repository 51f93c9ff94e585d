/**
 * The pure, seeded parts of `npm run chaos` (docs/reliability.md): the random
 * numbers, the nemesis's schedule of faults and the workload's choice of
 * operations. The same seed gives the same schedule and the same choices
 * (scripts/chaos/chaos.test.ts); what the system answers does not depend on it.
 */

/** A seeded generator of numbers in [0, 1) (mulberry32). */
export type Rng = () => number;

export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number in [min, max]. */
export function between(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(rng() * items.length)]!;
}

/** Picks a key of `weights` with probability proportional to its weight. */
export function weighted<K extends string>(rng: Rng, weights: Record<K, number>): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let at = rng() * total;
  for (const [key, w] of entries) {
    at -= w;
    if (at < 0) return key;
  }
  return entries.at(-1)![0];
}

/** The service processes the nemesis kills and freezes (the partners and the identity provider hold the records the audit reads, so they are faulted through their chaos controls instead). */
export const SERVICE_TARGETS = ['users', 'events', 'inventory', 'orders', 'notifications', 'workers', 'gateway'] as const;
export type ServiceTarget = (typeof SERVICE_TARGETS)[number];

export type Fault =
  /** SIGKILL, then started again after `restartAfterMs`. */
  | { kind: 'kill'; target: ServiceTarget; restartAfterMs: number }
  /** SIGSTOP, then SIGCONT after `durationMs`. */
  | { kind: 'pause'; target: ServiceTarget; durationMs: number }
  /** The notification provider answers 503 to every message for `durationMs` (longer than all retry delays). */
  | { kind: 'provider-down'; durationMs: number }
  /** The provider fails `failureRate` of messages for `durationMs`. */
  | { kind: 'provider-flaky'; durationMs: number; failureRate: number }
  /** The inventory gremlin: every `every`th request waits `latencyMs` (beyond INVENTORY_TIMEOUT_MS: ambiguous reservations). */
  | { kind: 'inventory-slow'; durationMs: number; every: number; latencyMs: number }
  /** Redis SIGKILLed, started again empty after `durationMs`. */
  | { kind: 'redis-empty'; durationMs: number }
  /** PostgreSQL stopped (fast shutdown), started again after `durationMs`. */
  | { kind: 'postgres-restart'; durationMs: number };

export type FaultKind = Fault['kind'];

export interface PlannedFault {
  /** When it starts, in ms from the start of the workload. */
  atMs: number;
  fault: Fault;
}

export interface ScheduleOptions {
  /** The length of the workload; no fault starts in its last `quietTailMs`. */
  windowMs: number;
  /** The sum of NOTIFY_RETRY_DELAYS_MS: a provider outage lasts longer. */
  notifyRetryTotalMs: number;
  /** Calm at the start (the workload warms up) and at the end. Default 3000 each. */
  quietHeadMs?: number;
  quietTailMs?: number;
}

const FAULT_WEIGHTS: Record<FaultKind, number> = {
  kill: 4,
  pause: 3,
  'provider-down': 1,
  'provider-flaky': 1,
  'inventory-slow': 1,
  'redis-empty': 1,
  'postgres-restart': 1,
};

/** How long a fault keeps its target faulted, restarts excluded. */
export function faultDurationMs(fault: Fault): number {
  return fault.kind === 'kill' ? fault.restartAfterMs : fault.durationMs;
}

/** One fault of `kind`, its target and lengths drawn from `rng`. */
function drawFault(rng: Rng, kind: FaultKind, notifyRetryTotalMs: number): Fault {
  switch (kind) {
    case 'kill':
      return { kind, target: pick(rng, SERVICE_TARGETS), restartAfterMs: between(rng, 0, 2000) };
    case 'pause':
      return { kind, target: pick(rng, SERVICE_TARGETS), durationMs: between(rng, 1000, 6000) };
    case 'provider-down':
      return { kind, durationMs: notifyRetryTotalMs + between(rng, 2000, 8000) };
    case 'provider-flaky':
      return { kind, durationMs: between(rng, 3000, 10_000), failureRate: pick(rng, [0.2, 0.5, 0.8]) };
    case 'inventory-slow':
      return { kind, durationMs: between(rng, 3000, 10_000), every: between(rng, 2, 4), latencyMs: between(rng, 2500, 4000) };
    case 'redis-empty':
      return { kind, durationMs: between(rng, 500, 5000) };
    case 'postgres-restart':
      return { kind, durationMs: between(rng, 500, 5000) };
  }
}

/**
 * The nemesis's plan for a seed: one fault after another (each healed before
 * the next, 2–6 s apart), of every kind at random, from the end of the quiet
 * head to the start of the quiet tail. Deterministic for a seed and options.
 */
export function nemesisSchedule(seed: number, options: ScheduleOptions): PlannedFault[] {
  const rng = seededRng(seed ^ 0x5eed);
  const head = options.quietHeadMs ?? 3000;
  const tail = options.quietTailMs ?? 3000;
  const plan: PlannedFault[] = [];
  let at = head;
  for (;;) {
    const fault = drawFault(rng, weighted(rng, FAULT_WEIGHTS), options.notifyRetryTotalMs);
    if (at + faultDurationMs(fault) > options.windowMs - tail) break;
    plan.push({ atMs: at, fault });
    at += faultDurationMs(fault) + between(rng, 2000, 6000);
  }
  return plan;
}

/** One line naming a fault, for the log and the report. */
export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'kill':
      return `SIGKILL ${fault.target}, restarted after ${fault.restartAfterMs} ms`;
    case 'pause':
      return `SIGSTOP ${fault.target} for ${fault.durationMs} ms`;
    case 'provider-down':
      return `notification provider down for ${fault.durationMs} ms`;
    case 'provider-flaky':
      return `notification provider failing ${fault.failureRate * 100}% for ${fault.durationMs} ms`;
    case 'inventory-slow':
      return `inventory: 1 request in ${fault.every} answered ${fault.latencyMs} ms late, for ${fault.durationMs} ms`;
    case 'redis-empty':
      return `Redis killed, started empty after ${fault.durationMs} ms`;
    case 'postgres-restart':
      return `PostgreSQL stopped for ${fault.durationMs} ms`;
  }
}

export type OperationKind = 'signup' | 'placeOrder' | 'cancelOrder' | 'ingestEvent' | 'read' | 'restock';

/** The workload's mix: what a client does next. */
export const OPERATION_WEIGHTS: Record<OperationKind, number> = {
  placeOrder: 35,
  read: 25,
  ingestEvent: 20,
  cancelOrder: 10,
  signup: 5,
  restock: 5,
};

/** How a placeOrder names its idempotency key: none, a fresh one, a repeat of an earlier one (same input), or an earlier one with another input (CONFLICT expected). */
export type KeyMode = 'none' | 'fresh' | 'repeat' | 'conflict';
export const KEY_WEIGHTS: Record<KeyMode, number> = { none: 25, fresh: 53, repeat: 20, conflict: 2 };
