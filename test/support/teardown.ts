/** Anything a test file starts: servers, stacks, proxies close; Hive Gateway's runtime disposes. */
export type Closable = { close(): unknown } | { dispose(): unknown };

/**
 * Closes what a test file started, one after another in the order given (a
 * gateway before the subgraphs behind it), passing over what beforeAll never
 * got to start.
 */
export async function closeAll(...started: (Closable | undefined)[]): Promise<void> {
  for (const thing of started) {
    if (thing === undefined) continue;
    await ('close' in thing ? thing.close() : thing.dispose());
  }
}
