import { readyUrl } from './subgraphs.ts';

export type SubgraphState = 'up' | 'down';

export interface Readiness {
  ready: boolean;
  subgraphs: Record<string, SubgraphState>;
}

/** Asks every subgraph's /ready at once; one that does not answer 200 within `timeoutMs` is down. */
export async function checkSubgraphs(urls: Record<string, string>, timeoutMs: number): Promise<Readiness> {
  const entries = await Promise.all(
    Object.entries(urls).map(async ([name, url]): Promise<[string, SubgraphState]> => {
      try {
        const response = await fetch(readyUrl(url), { signal: AbortSignal.timeout(timeoutMs) });
        await response.body?.cancel();
        return [name, response.ok ? 'up' : 'down'];
      } catch {
        return [name, 'down'];
      }
    }),
  );
  const subgraphs = Object.fromEntries(entries);
  return { ready: entries.every(([, state]) => state === 'up'), subgraphs };
}
