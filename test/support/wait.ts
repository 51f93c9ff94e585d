/**
 * Waiting for a condition in a test: `expect.poll(read, { timeout, message }).toBe(…)` (vitest's own) is the
 * way, with any matcher, and it names the last value it saw when it fails. `eventually` is for the one case
 * expect.poll does not cover: a test that needs the thing it waited for (a job, a row, a reading).
 */

/** Polls `check` until it returns a truthy value and returns that value, or fails after `timeoutMs` naming `what`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
