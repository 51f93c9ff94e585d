import { describe, expect, it } from 'vitest';
import { audit, figures, type Operation, type OrderRow, type Snapshot } from './audit.ts';
import { replaceSection } from './report.ts';
import { faultDurationMs, nemesisSchedule, seededRng } from './schedule.ts';

describe('the nemesis schedule', () => {
  const options = { windowMs: 10 * 60_000, notifyRetryTotalMs: 3500 };

  it('is the same for the same seed, and another for another seed', () => {
    expect(nemesisSchedule(7, options)).toEqual(nemesisSchedule(7, options));
    expect(nemesisSchedule(8, options)).not.toEqual(nemesisSchedule(7, options));
    expect(Array.from({ length: 5 }, seededRng(3))).toEqual(Array.from({ length: 5 }, seededRng(3)));
  });

  it('runs faults one after another inside the window, every kind over a long run, provider outages longer than the retries', () => {
    const plan = nemesisSchedule(7, options);
    for (const [i, { atMs, fault }] of plan.entries()) {
      expect(atMs).toBeGreaterThanOrEqual(3000);
      expect(atMs + faultDurationMs(fault)).toBeLessThanOrEqual(options.windowMs - 3000);
      if (i > 0) expect(atMs).toBeGreaterThanOrEqual(plan[i - 1]!.atMs + faultDurationMs(plan[i - 1]!.fault));
      if (fault.kind === 'provider-down') expect(fault.durationMs).toBeGreaterThan(options.notifyRetryTotalMs);
    }
    expect(new Set(plan.map((p) => p.fault.kind))).toEqual(
      new Set(['kill', 'pause', 'provider-down', 'provider-flaky', 'inventory-slow', 'redis-empty', 'postgres-restart']),
    );
  });
});

const USER = '00000000-0000-4000-8000-000000000001';
const order = (id: string, history: string[], extra: Partial<OrderRow> = {}): OrderRow => ({
  id,
  userId: USER,
  productId: 'P',
  quantity: 1,
  status: history.at(-1)!,
  idempotencyKey: null,
  history,
  ...extra,
});
let nextOp = 1;
const op = (kind: Operation['kind'], outcome: Operation['outcome'], input: Record<string, any>, result?: Record<string, any>, code?: string): Operation => ({
  id: nextOp++,
  client: 1,
  kind,
  startMs: 1000,
  endMs: 1100,
  outcome,
  input,
  ...(result ? { result } : {}),
  ...(code ? { code } : {}),
});
const placed = (id: string, key?: string, outcome: Operation['outcome'] = 'ok') =>
  op(
    'placeOrder',
    outcome,
    { userId: USER, productId: 'P', quantity: 1, ...(key ? { idempotencyKey: key } : {}) },
    outcome === 'ok' ? { id, status: 'PENDING' } : undefined,
  );

/** A history and a snapshot that agree: two orders, one confirmed and notified, one cancelled before processing. */
function consistent(): { history: Operation[]; snapshot: Snapshot } {
  const history = [
    placed('o1', 'k1'),
    placed('o1', 'k1'),
    placed('o2'),
    op('cancelOrder', 'ok', { orderId: 'o2', userId: USER }, { id: 'o2', status: 'CANCELLED' }),
  ];
  const snapshot: Snapshot = {
    orders: [order('o1', ['PENDING', 'PROCESSING', 'CONFIRMED'], { idempotencyKey: 'k1' }), order('o2', ['PENDING', 'CANCELLED'])],
    users: [USER],
    notifications: [
      { eventId: 'e-signup', type: 'USER_SIGNUP', userId: USER, status: 'SENT', attempts: 1, createdMs: 0, updatedMs: 10 },
      { eventId: 'e-o1', type: 'ORDER_CONFIRMED', userId: USER, status: 'SENT', attempts: 1, orderId: 'o1', createdMs: 0, updatedMs: 10 },
    ],
    deliveries: [
      { idempotencyKey: 'e-signup', eventId: 'e-signup', type: 'USER_SIGNUP', userId: USER, requests: 1 },
      { idempotencyKey: 'e-o1', eventId: 'e-o1', type: 'ORDER_CONFIRMED', orderId: 'o1', userId: USER, requests: 2 },
    ],
    providerCalls: [{ timeMs: 5, status: 202 }],
    invariantViolations: [],
    subscribers: [
      {
        userId: USER,
        excluded: ['o2'],
        received: [
          { orderId: 'o1', status: 'PENDING' },
          { orderId: 'o1', status: 'PROCESSING' },
          { orderId: 'o1', status: 'CONFIRMED' },
        ],
        resumes: 1,
      },
    ],
    quiesced: true,
  };
  return { history, snapshot };
}

const rules = (history: Operation[], snapshot: Snapshot) => audit(history, snapshot).map((v) => v.rule);

describe('the auditor', () => {
  it('passes a history the database agrees with', () => {
    const { history, snapshot } = consistent();
    expect(audit(history, snapshot)).toEqual([]);
  });

  it('flags an acknowledged order that is lost, and one left PENDING', () => {
    const { history, snapshot } = consistent();
    expect(rules(history, { ...snapshot, orders: snapshot.orders.filter((o) => o.id !== 'o2') })).toContain('acknowledged orders exist');
    const stuck = { ...snapshot, orders: [snapshot.orders[0]!, order('o2', ['PENDING'])] };
    expect(rules(history, stuck)).toContain('orders end terminal');
  });

  it('flags one idempotency key answered with two orders, and an order no client asked for', () => {
    const { history, snapshot } = consistent();
    const twice = [...history, placed('o3', 'k1')];
    const violations = audit(twice, { ...snapshot, orders: [...snapshot.orders, order('o3', ['PENDING', 'CANCELLED'])] });
    const keyViolation = violations.find((v) => v.rule === 'an idempotency key names one order');
    expect(keyViolation?.operations).toEqual(twice.filter((o) => o.input.idempotencyKey === 'k1').map((o) => o.id));
    // An order nobody was told of is explained only by an operation whose outcome is unknown.
    const phantom = { ...snapshot, orders: [...snapshot.orders, order('o9', ['PENDING', 'CANCELLED'], { quantity: 1 })] };
    expect(rules(history, phantom)).toContain('nothing happened that no client asked for');
    expect(rules([...history, placed('o9', undefined, 'unknown')], phantom)).not.toContain('nothing happened that no client asked for');
  });

  it('flags a notification delivered under two keys, one missing, and one FAILED while the provider served no one', () => {
    const { history, snapshot } = consistent();
    const twoKeys = {
      ...snapshot,
      deliveries: [...snapshot.deliveries, { idempotencyKey: 'e-o1-again', type: 'ORDER_CONFIRMED', orderId: 'o1', requests: 1 }],
    };
    expect(rules(history, twoKeys)).toContain('none delivered with two different keys');
    expect(rules(history, { ...snapshot, notifications: snapshot.notifications.slice(0, 1) })).toContain('one notification per order outcome');
    const failed = {
      ...snapshot,
      notifications: [snapshot.notifications[0]!, { ...snapshot.notifications[1]!, status: 'FAILED', createdMs: 100, updatedMs: 200 }],
      deliveries: snapshot.deliveries.slice(0, 1),
    };
    expect(rules(history, failed)).toContain('FAILED only while the provider served others');
    const down = { description: 'notification provider down for 9000 ms', kind: 'provider-down', startMs: 90, endMs: 300 };
    expect(audit(history, failed, [down]).find((v) => v.rule === 'FAILED only while the provider served others')?.message).toContain(down.description);
    expect(rules(history, { ...failed, providerCalls: [{ timeMs: 150, status: 202 }] })).not.toContain('FAILED only while the provider served others');
  });

  it('flags INTERNAL_SERVER_ERROR, a subscriber that saw a change twice, and a system that never came to rest', () => {
    const { history, snapshot } = consistent();
    expect(rules([...history, op('read', 'unknown', { what: 'orders' }, undefined, 'INTERNAL_SERVER_ERROR')], snapshot)).toContain('no INTERNAL_SERVER_ERROR');
    const sub = snapshot.subscribers[0]!;
    const twice = { ...snapshot, subscribers: [{ ...sub, received: [...sub.received, { orderId: 'o1', status: 'CONFIRMED' }] }] };
    expect(rules(history, twice)).toContain('subscribers see every change once, in order');
    expect(rules(history, { ...snapshot, quiesced: false })).toContain('quiescence');
  });

  it('counts outcomes and tells operations during faults from the rest', () => {
    const history = [placed('o1'), { ...placed('o2', undefined, 'unknown'), startMs: 5000, endMs: 6000 }];
    const f = figures(history, [{ description: 'x', kind: 'kill', startMs: 5500, endMs: 7000 }]);
    expect(f.operations.placeOrder).toEqual({ ok: 1, error: 0, unknown: 1 });
    expect(f.answered).toEqual({ all: 0.5, duringFaults: 0, calm: 1 });
  });
});

describe('the report', () => {
  it('replaces its own section and keeps the rest of the page', () => {
    const page = replaceSection('# Reliability\n\nProse.\n', 1.5, 'first');
    expect(page).toContain('<!-- chaos:short:start -->\nfirst\n<!-- chaos:short:end -->');
    const again = replaceSection(replaceSection(page, 60, 'long'), 1.5, 'second');
    expect(again).toContain('Prose.');
    expect(again).toContain('long');
    expect(again).not.toContain('first');
    expect(again).toContain('second');
  });
});
