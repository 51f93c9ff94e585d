import { SUBGRAPH_ADDRESSES, type GatewayConfig } from './settings.ts';

export class UnknownSubgraphError extends Error {
  override name = 'UnknownSubgraphError';
}

/**
 * The /graphql URL the gateway calls for subgraph `name` (as named in supergraph.yaml):
 * the URL setting the catalog of processes names for it (USERS_URL, ...; the
 * routing URL baked into the supergraph is then not used), or for a subgraph the
 * catalog does not name (another team's, a benchmark's) the routing URL the supergraph gives it.
 */
export function subgraphUrl(config: GatewayConfig, name: string, routingUrl?: string): string {
  const subgraph = SUBGRAPH_ADDRESSES.find((s) => s.name === name);
  // gateway/settings.ts derives every URL setting of the catalog (from its port when unset).
  const url = subgraph && new Map(Object.entries(config)).get(subgraph.urlSetting);
  if (typeof url === 'string') return url;
  if (routingUrl) return routingUrl;
  throw new UnknownSubgraphError(
    `the supergraph names subgraph "${name}" without a routing URL, and no URL setting names it (settings exist for: ${SUBGRAPH_ADDRESSES.map((s) => s.name).join(', ')})`,
  );
}

/** A subgraph's readiness URL: its /graphql URL with /graphql replaced by /ready. */
export function readyUrl(graphqlUrl: string): string {
  const url = new URL(graphqlUrl);
  url.pathname = url.pathname.replace(/\/graphql\/?$/, '') + '/ready';
  url.search = '';
  return url.toString();
}
