/**
 * The auditor of `npm run chaos` (docs/reliability.md): checks the history of
 * what clients were told against what the database and the notification
 * provider hold once the system is at rest. Pure: it reads only its arguments,
 * so scripts/chaos/chaos.test.ts feeds it histories that break each rule.
 */
import type { OperationKind } from './schedule.ts';

/**
 * What a client learned: `ok`; `error` (a definite refusal: nothing was done);
 * `unknown` (a timeout, a cut connection, SERVICE_UNAVAILABLE or a 5xx: it may or may not have happened).
 */
export type Outcome = 'ok' | 'error' | 'unknown';

/** Error codes after which the operation certainly did nothing. */
export const DEFINITE_ERRORS = new Set([
  'BAD_USER_INPUT',
  'CONFLICT',
  'NOT_FOUND',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'RATE_LIMITED',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
]);

export interface Operation {
  id: number;
  client: number;
  kind: OperationKind;
  /** ms since the epoch. */
  startMs: number;
  endMs: number;
  outcome: Outcome;
  /** extensions.code of the first error, or TIMEOUT / NETWORK / HTTP_<status>. */
  code?: string;
  /** placeOrder: { userId, productId, quantity, idempotencyKey? }; cancelOrder: { orderId, userId }; ingestEvent: { eventId, userId }; signup: { email }; restock: { productId, quantity }; read: { what }. */
  input: Record<string, any>;
  /** placeOrder / cancelOrder: { id, status }; ingestEvent: { eventId, status }; signup: { id }. */
  result?: Record<string, any>;
}

export interface FaultWindow {
  description: string;
  kind: string;
  startMs: number;
  /** When it was healed (and, for a kill, the process answered again). */
  endMs: number;
}

export interface OrderRow {
  id: string;
  userId: string;
  productId: string;
  quantity: number;
  status: string;
  failureReason?: string | null;
  idempotencyKey: string | null;
  /** Its status changes, oldest first. */
  history: string[];
}

export interface NotificationRow {
  eventId: string;
  type: string;
  userId: string | null;
  status: string;
  attempts: number;
  /** payload.orderId of ORDER_CONFIRMED / ORDER_FAILED. */
  orderId?: string;
  createdMs: number;
  updatedMs: number;
}

/** One delivery the provider recorded (one per Idempotency-Key). */
export interface Delivery {
  idempotencyKey: string;
  eventId?: string;
  type?: string;
  orderId?: string;
  userId?: string;
  /** Requests answered with this key (the delivery and its repeats). */
  requests: number;
}

/** One request the provider answered (its /_calls record for POST /messages). */
export interface ProviderCall {
  timeMs: number;
  status: number | null;
}

/** A client that watched its user's orders with orderUpdates, resuming with `after` each time its stream ended. */
export interface Subscriber {
  userId: string;
  /** Orders left out of the check (the one placed to learn the stream was live). */
  excluded: string[];
  /** What it received, in order. */
  received: { orderId: string; status: string }[];
  /** How many times it resumed with `after`. */
  resumes: number;
}

export interface Snapshot {
  orders: OrderRow[];
  /** User ids in the users schema. */
  users: string[];
  notifications: NotificationRow[];
  deliveries: Delivery[];
  providerCalls: ProviderCall[];
  /** Lines from test/support/invariants.ts (stock, reservations, terminal orders). */
  invariantViolations: string[];
  subscribers: Subscriber[];
  /** False when the system did not come to rest before the timeout (said why). */
  quiesced: boolean;
  quiescenceNote?: string;
}

export interface Violation {
  rule: string;
  message: string;
  /** The operations that show it. */
  operations: number[];
}

const TERMINAL = new Set(['CONFIRMED', 'FAILED', 'CANCELLED']);

function add(violations: Violation[], rule: string, message: string, operations: number[] = []): void {
  violations.push({ rule, message, operations });
}

const inputSignature = (i: Record<string, any>) => `${i.userId}|${i.productId}|${i.quantity}`;

/** Checks the history against the snapshot; returns every violation found (none: the run passed). `faults` name what was going on when something went wrong. */
export function audit(history: Operation[], snapshot: Snapshot, faults: FaultWindow[] = []): Violation[] {
  const violations: Violation[] = [];
  if (!snapshot.quiesced) add(violations, 'quiescence', `the system did not come to rest: ${snapshot.quiescenceNote ?? 'timeout'}`);
  // Each line with the operations that named its order.
  for (const line of snapshot.invariantViolations) {
    const ids: string[] = line.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
    const named = history.filter((op) => ids.includes(op.input.orderId) || ids.includes(op.result?.id));
    add(
      violations,
      'invariants 1-3',
      line,
      named.map((op) => op.id),
    );
  }

  for (const op of history) {
    if (op.code === 'INTERNAL_SERVER_ERROR') add(violations, 'no INTERNAL_SERVER_ERROR', `${op.kind} #${op.id} was answered INTERNAL_SERVER_ERROR`, [op.id]);
  }

  checkOrders(history, snapshot, violations);
  checkNotifications(history, snapshot, violations, faults);
  checkSubscribers(snapshot, violations);
  return violations;
}

function checkOrders(history: Operation[], snapshot: Snapshot, violations: Violation[]): void {
  const orders = new Map(snapshot.orders.map((o) => [o.id, o]));
  const places = history.filter((op) => op.kind === 'placeOrder');
  const claimed = new Set<string>();

  // Every acknowledged order exists, as asked, and is terminal.
  for (const op of places.filter((p) => p.outcome === 'ok')) {
    const id = op.result?.id as string;
    claimed.add(id);
    const order = orders.get(id);
    if (!order) {
      add(violations, 'acknowledged orders exist', `placeOrder #${op.id} was told order ${id} was accepted; it does not exist`, [op.id]);
      continue;
    }
    if (inputSignature(order) !== inputSignature(op.input))
      add(
        violations,
        'acknowledged orders exist',
        `order ${id} is ${inputSignature(order)}, placeOrder #${op.id} asked for ${inputSignature(op.input)} (user|product|quantity)`,
        [op.id],
      );
    if (!TERMINAL.has(order.status)) add(violations, 'orders end terminal', `order ${id} (placeOrder #${op.id}) is still ${order.status}`, [op.id]);
  }

  // An idempotency key names one order: every acknowledged use of a key got the same order, the key's order in the database.
  const byKey = new Map<string, Operation[]>();
  for (const op of places) if (op.input.idempotencyKey) byKey.set(op.input.idempotencyKey, [...(byKey.get(op.input.idempotencyKey) ?? []), op]);
  const keyOrders = new Map<string, OrderRow[]>();
  for (const order of snapshot.orders) if (order.idempotencyKey) keyOrders.set(order.idempotencyKey, [...(keyOrders.get(order.idempotencyKey) ?? []), order]);
  for (const [key, ops] of byKey) {
    const named = new Set(ops.filter((op) => op.outcome === 'ok').map((op) => op.result?.id as string));
    const stored = keyOrders.get(key) ?? [];
    if (named.size > 1 || stored.length > 1)
      add(
        violations,
        'an idempotency key names one order',
        `key ${key} named orders ${[...named].join(', ')} (${stored.length} in the database)`,
        ops.map((op) => op.id),
      );
    else if (named.size === 1 && stored.length === 1 && !named.has(stored[0]!.id))
      add(
        violations,
        'an idempotency key names one order',
        `key ${key}: clients were told ${[...named][0]}, the database holds ${stored[0]!.id}`,
        ops.map((op) => op.id),
      );
    // A use of the key with another input than the key's order must be refused, and a repeat with the same input answered with it.
    const order = stored[0];
    for (const op of ops) {
      const same = order !== undefined && inputSignature(order) === inputSignature(op.input);
      if (op.outcome === 'ok' && order && !same)
        add(violations, 'an idempotency key names one order', `key ${key} reused with other input by placeOrder #${op.id} was accepted`, [op.id]);
      if (op.code === 'CONFLICT' && same)
        add(violations, 'an idempotency key names one order', `placeOrder #${op.id} repeated key ${key} with its order's own input and was refused CONFLICT`, [
          op.id,
        ]);
    }
  }

  // Every order in the database is one a client was told of, or one an operation with an unknown outcome may have made.
  const unknownBySignature = new Map<string, Operation[]>();
  for (const op of places.filter((p) => p.outcome === 'unknown')) {
    const signature = `${inputSignature(op.input)}|${op.input.idempotencyKey ?? ''}`;
    unknownBySignature.set(signature, [...(unknownBySignature.get(signature) ?? []), op]);
  }
  for (const order of snapshot.orders) {
    if (claimed.has(order.id)) continue;
    const signature = `${inputSignature(order)}|${order.idempotencyKey ?? ''}`;
    const candidates = unknownBySignature.get(signature);
    if (candidates?.length) {
      candidates.shift();
      continue;
    }
    const refused = places.filter((op) => op.outcome === 'error' && `${inputSignature(op.input)}|${op.input.idempotencyKey ?? ''}` === signature);
    add(
      violations,
      'nothing happened that no client asked for',
      `order ${order.id} (${signature}) exists; no client was told of it and no operation with an unknown outcome explains it`,
      refused.map((op) => op.id),
    );
  }

  // A cancel that was acknowledged stuck.
  for (const op of history.filter((o) => o.kind === 'cancelOrder' && o.outcome === 'ok')) {
    const order = orders.get(op.input.orderId);
    if (op.result?.status === 'CANCELLED' && order?.status !== 'CANCELLED')
      add(
        violations,
        'acknowledged cancels hold',
        `cancelOrder #${op.id} was told order ${op.input.orderId} is CANCELLED; it is ${order?.status ?? 'missing'}`,
        [op.id],
      );
  }
}

/** The provider answered someone 2xx between `from` and `to`: it was serving others. */
function providerServed(calls: ProviderCall[], from: number, to: number): boolean {
  return calls.some((c) => c.timeMs >= from && c.timeMs <= to && c.status !== null && c.status < 300);
}

/** The faults that overlapped [from, to], for a violation's message. */
function faultsBetween(faults: FaultWindow[], from: number, to: number): string {
  const during = faults.filter((f) => f.startMs <= to && f.endMs >= from).map((f) => f.description);
  return during.length ? ` (meanwhile: ${during.join('; ')})` : '';
}

function checkNotifications(history: Operation[], snapshot: Snapshot, violations: Violation[], faults: FaultWindow[]): void {
  const byEvent = new Map(snapshot.notifications.map((n) => [n.eventId, n]));
  const deliveries = new Map(snapshot.deliveries.map((d) => [d.idempotencyKey, d]));

  // One notification per order outcome.
  const outcomes = new Map<string, number>();
  for (const n of snapshot.notifications) if (n.orderId) outcomes.set(`${n.type}|${n.orderId}`, (outcomes.get(`${n.type}|${n.orderId}`) ?? 0) + 1);
  for (const order of snapshot.orders) {
    for (const [status, type] of [
      ['CONFIRMED', 'ORDER_CONFIRMED'],
      ['FAILED', 'ORDER_FAILED'],
    ] as const) {
      const expected = order.history.includes(status) ? 1 : 0;
      const found = outcomes.get(`${type}|${order.id}`) ?? 0;
      if (found !== expected)
        add(violations, 'one notification per order outcome', `order ${order.id} (${order.history.join(' > ')}) has ${found} ${type} notifications`);
    }
  }

  // One sign-up notification per user.
  const signups = new Map<string, number>();
  for (const n of snapshot.notifications) if (n.type === 'USER_SIGNUP' && n.userId) signups.set(n.userId, (signups.get(n.userId) ?? 0) + 1);
  for (const user of snapshot.users)
    if ((signups.get(user) ?? 0) !== 1) add(violations, 'one notification per sign-up', `user ${user} has ${signups.get(user) ?? 0} USER_SIGNUP notifications`);

  // Every accepted ingested event has its notification.
  for (const op of history.filter((o) => o.kind === 'ingestEvent' && o.outcome === 'ok')) {
    if (!byEvent.has(op.input.eventId))
      add(violations, 'one notification per ingested event', `ingestEvent #${op.id} (${op.input.eventId}) was accepted; no notification has that eventId`, [
        op.id,
      ]);
  }

  // Each notification ends SENT (delivered) or FAILED only while the provider served others.
  for (const n of snapshot.notifications) {
    const delivered = deliveries.has(n.eventId);
    if (n.status === 'SENT' && !delivered)
      add(violations, 'notifications end SENT or FAILED', `notification ${n.eventId} is SENT; the provider has no delivery with its key`);
    else if (n.status === 'FAILED') {
      if (delivered) add(violations, 'notifications end SENT or FAILED', `notification ${n.eventId} is FAILED; the provider delivered it`);
      else if (!providerServed(snapshot.providerCalls, n.createdMs, n.updatedMs))
        add(
          violations,
          'FAILED only while the provider served others',
          `notification ${n.eventId} ended FAILED after ${n.attempts} attempts while the provider served no one${faultsBetween(faults, n.createdMs, n.updatedMs)}`,
        );
    } else if (n.status !== 'SENT') add(violations, 'notifications end SENT or FAILED', `notification ${n.eventId} is still ${n.status}`);
  }

  // Nothing delivered under two keys: one delivery per order outcome and per sign-up, and every key one of a notification.
  const seen = new Map<string, string[]>();
  for (const d of snapshot.deliveries) {
    const what = d.orderId ? `${d.type} of order ${d.orderId}` : d.type === 'USER_SIGNUP' ? `USER_SIGNUP of ${d.userId}` : undefined;
    if (what) seen.set(what, [...(seen.get(what) ?? []), d.idempotencyKey]);
    if (!byEvent.has(d.idempotencyKey))
      add(violations, 'deliveries are notifications', `the provider delivered key ${d.idempotencyKey}, which no notification has`);
  }
  for (const [what, keys] of seen)
    if (keys.length > 1) add(violations, 'none delivered with two different keys', `${what} was delivered ${keys.length} times, with keys ${keys.join(', ')}`);
}

function checkSubscribers(snapshot: Snapshot, violations: Violation[]): void {
  for (const sub of snapshot.subscribers) {
    const excluded = new Set(sub.excluded);
    for (const order of snapshot.orders.filter((o) => o.userId === sub.userId && !excluded.has(o.id))) {
      const seen = sub.received.filter((r) => r.orderId === order.id).map((r) => r.status);
      if (seen.join('>') !== order.history.join('>'))
        add(
          violations,
          'subscribers see every change once, in order',
          `user ${sub.userId}'s subscriber (resumed ${sub.resumes} times) saw order ${order.id} as ${seen.join(' > ') || 'nothing'}; it went ${order.history.join(' > ')}`,
        );
    }
  }
}

export interface Figures {
  operations: Record<string, Record<Outcome, number>>;
  /** Share of operations answered (ok or a definite error), overall, during faults and outside them. */
  answered: { all: number; duringFaults: number; calm: number };
  latencyMs: { calm: { p50: number; p99: number }; duringFaults: { p50: number; p99: number } };
  codes: Record<string, number>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Whether an operation overlapped a fault window. */
export function duringFault(op: Operation, faults: FaultWindow[]): boolean {
  return faults.some((f) => op.startMs <= f.endMs && op.endMs >= f.startMs);
}

/** The history's counts and figures: outcomes by kind, the share answered and latency, during faults and outside them. */
export function figures(history: Operation[], faults: FaultWindow[]): Figures {
  const operations: Figures['operations'] = {};
  const codes: Record<string, number> = {};
  for (const op of history) {
    operations[op.kind] ??= { ok: 0, error: 0, unknown: 0 };
    operations[op.kind]![op.outcome] += 1;
    if (op.code) codes[op.code] = (codes[op.code] ?? 0) + 1;
  }
  const faulted = history.filter((op) => duringFault(op, faults));
  const calm = history.filter((op) => !duringFault(op, faults));
  const share = (ops: Operation[]) => (ops.length === 0 ? Number.NaN : ops.filter((op) => op.outcome !== 'unknown').length / ops.length);
  const latency = (ops: Operation[]) => {
    const sorted = ops.map((op) => op.endMs - op.startMs).sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  return {
    operations,
    answered: { all: share(history), duringFaults: share(faulted), calm: share(calm) },
    latencyMs: { calm: latency(calm), duringFaults: latency(faulted) },
    codes,
  };
}
