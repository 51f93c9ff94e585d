/**
 * The pure parts of the subscriptions bench (bench/scenarios/subscriptions.ts):
 * what each watched subscription should have received against what it did.
 */

/** One change of an order: the order's id and the status it entered. */
export const changeKey = (orderId: string, status: string) => `${orderId}:${status}`;

export interface Accounting {
  /** Deliveries expected: every change of a watched user's orders, once per subscription of that user. */
  expected: number;
  /** Expected deliveries that arrived (once or more). */
  delivered: number;
  /** Expected deliveries that never arrived. */
  lost: number;
  /** Deliveries of a change a subscription had already received. */
  duplicates: number;
  /** Deliveries of a change not expected on that subscription (another user's order, or a change never made). */
  unexpected: number;
}

/**
 * Compares, per subscription, the changes it should have received (`expected`, by its user) with what it received
 * (`received`: change key → times received), each subscription with its user.
 */
export function account(
  expected: ReadonlyMap<string, ReadonlySet<string>>,
  subscriptions: Iterable<{ user: string; received: ReadonlyMap<string, number> }>,
): Accounting {
  const result: Accounting = { expected: 0, delivered: 0, lost: 0, duplicates: 0, unexpected: 0 };
  for (const { user, received } of subscriptions) {
    const wanted = expected.get(user) ?? new Set<string>();
    result.expected += wanted.size;
    for (const key of wanted) {
      const times = received.get(key) ?? 0;
      if (times === 0) result.lost += 1;
      else {
        result.delivered += 1;
        result.duplicates += times - 1;
      }
    }
    for (const [key, times] of received) if (!wanted.has(key)) result.unexpected += times;
  }
  return result;
}
