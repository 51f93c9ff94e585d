import type postgres from 'postgres';

/**
 * Invariants 1–3 of docs/architecture.md, read straight from the database (all schemas
 * live in one test database). Returns one line per violation; empty when all hold.
 *
 * 1. Stock is never negative, and stock + reserved equals the RESTOCK total
 *    (initial stock included) of every product; reserved is exactly what its
 *    CONFIRMED orders hold.
 * 2. An order reserves at most once and releases at most once: a CONFIRMED
 *    order holds one RESERVE and no RELEASE; a FAILED or CANCELLED one holds
 *    nothing (as many RELEASEs as RESERVEs).
 * 3. Every order is CONFIRMED, FAILED (with a reason) or CANCELLED, and its
 *    history runs from PENDING to that status.
 */
export async function invariantViolations(sql: postgres.Sql): Promise<string[]> {
  const violations: string[] = [];

  const products = await sql`
    select p.id, p.stock, p.reserved,
      coalesce((select sum(quantity) from inventory.stock_movements m where m.product_id = p.id and m.kind = 'RESTOCK'), 0)::int as restocked,
      coalesce((select sum(quantity) from orders.orders o where o.product_id = p.id and o.status = 'CONFIRMED'), 0)::int as confirmed
    from inventory.products p`;
  for (const p of products) {
    if (p.stock < 0) violations.push(`invariant 1: product ${p.id} has negative stock ${p.stock}`);
    if (p.stock + p.reserved !== p.restocked)
      violations.push(`invariant 1: product ${p.id}: stock ${p.stock} + reserved ${p.reserved} != restocked ${p.restocked}`);
    if (p.reserved !== p.confirmed) violations.push(`invariant 1: product ${p.id}: reserved ${p.reserved} != ${p.confirmed} held by CONFIRMED orders`);
  }

  const orders = await sql`
    select o.id, o.status, o.failure_reason,
      (select count(*) from inventory.stock_movements m where m.order_id = o.id and m.kind = 'RESERVE')::int as reserves,
      (select count(*) from inventory.stock_movements m where m.order_id = o.id and m.kind = 'RELEASE')::int as releases,
      (select array_agg(h.status::text order by h.id) from orders.order_status_changes h where h.order_id = o.id) as history
    from orders.orders o`;
  for (const o of orders) {
    if (o.reserves > 1) violations.push(`invariant 2: order ${o.id} reserved ${o.reserves} times`);
    if (o.releases > 1) violations.push(`invariant 2: order ${o.id} released ${o.releases} times`);
    if (o.status === 'CONFIRMED' && (o.reserves !== 1 || o.releases !== 0)) {
      violations.push(`invariant 2: CONFIRMED order ${o.id} has ${o.reserves} RESERVE and ${o.releases} RELEASE movements`);
    }
    if ((o.status === 'FAILED' || o.status === 'CANCELLED') && o.reserves !== o.releases) {
      violations.push(`invariant 2: ${o.status} order ${o.id} still holds stock (${o.reserves} RESERVE, ${o.releases} RELEASE)`);
    }
    if (!['CONFIRMED', 'FAILED', 'CANCELLED'].includes(o.status)) violations.push(`invariant 3: order ${o.id} is still ${o.status}`);
    if ((o.status === 'FAILED') !== (o.failure_reason !== null))
      violations.push(`invariant 3: order ${o.id} is ${o.status} with failureReason ${o.failure_reason}`);
    const history: string[] = o.history ?? [];
    if (history[0] !== 'PENDING' || history.at(-1) !== o.status) violations.push(`invariant 3: order ${o.id} (${o.status}) has history ${history.join(' > ')}`);
  }
  return violations;
}

export interface ExpectInvariantsOptions {
  /** Longest wait for the system to settle with every invariant holding. Default 20 s. */
  timeoutMs?: number;
  /**
   * True once no background work is left (e.g. no outbox row unpublished and
   * no order job waiting, active or delayed): the invariants speak of a system
   * at rest, and a reservation still in flight can pass them for a moment.
   */
  settled?: () => Promise<boolean>;
}

async function check(sql: postgres.Sql, settled?: () => Promise<boolean>): Promise<string[]> {
  if (settled && !(await settled())) return ['background work is still going on'];
  const violations = await invariantViolations(sql);
  // Settled before and after the check: nothing moved while it read.
  if (violations.length === 0 && settled && !(await settled())) return ['background work is still going on'];
  return violations;
}

/**
 * Waits until the system is at rest with invariants 1–3 holding (background
 * work such as releases may still be finishing), or fails listing what does not hold.
 */
export async function expectInvariants(sql: postgres.Sql, { timeoutMs = 20_000, settled }: ExpectInvariantsOptions = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let violations = await check(sql, settled);
  while (violations.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    violations = await check(sql, settled);
  }
  if (violations.length > 0) {
    const shown = violations.slice(0, 20).join('\n  ');
    throw new Error(`invariants do not hold after ${timeoutMs} ms (${violations.length}):\n  ${shown}`);
  }
}
