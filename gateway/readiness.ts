import { readyUrl } from './subgraphs.ts';

export type SubgraphState = 'up' | 'down';

export interface Readiness {
  ready: boolean;
  subgraphs: Record<string, SubgraphState>;
}

/**
 * Asks every subgraph's /ready at once; one that does not answer 200 within `timeoutMs` is down, as is each one named in `down`.
 * A subgraph without a /ready route (404: another team's) is up when it answers `{ __typename }` at its /graphql URL.
 */
export async function checkSubgraphs(urls: Record<string, string>, timeoutMs: number, down: ReadonlySet<string> = new Set()): Promise<Readiness> {
  const entries = await Promise.all(
    Object.entries(urls).map(async ([name, url]): Promise<[string, SubgraphState]> => {
      if (down.has(name)) return [name, 'down'];
      try {
        const signal = AbortSignal.timeout(timeoutMs);
        let response = await fetch(readyUrl(url), { signal });
        await response.body?.cancel();
        if (response.status === 404) {
          response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}', signal });
          await response.body?.cancel();
        }
        return [name, response.ok ? 'up' : 'down'];
      } catch {
        return [name, 'down'];
      }
    }),
  );
  const subgraphs = Object.fromEntries(entries);
  return { ready: entries.every(([, state]) => state === 'up'), subgraphs };
}
