import type { Config } from '../common/config.ts';
import { SUBGRAPHS } from '../subgraphs/index.ts';

export class UnknownSubgraphError extends Error {
  override name = 'UnknownSubgraphError';
}

/**
 * The /graphql URL the gateway calls for subgraph `name` (as named in supergraph.yaml):
 * the setting its module names (USERS_URL, ...; the routing URL baked into the
 * supergraph is then not used), or for a subgraph no module names (another
 * team's, a benchmark's) the routing URL the supergraph gives it.
 */
export function subgraphUrl(config: Config, name: string, routingUrl?: string): string {
  const subgraph = SUBGRAPHS.find((s) => s.name === name);
  if (subgraph) return config[subgraph.urlSetting];
  if (routingUrl) return routingUrl;
  throw new UnknownSubgraphError(
    `the supergraph names subgraph "${name}" without a routing URL, and no URL setting names it (settings exist for: ${SUBGRAPHS.map((s) => s.name).join(', ')})`,
  );
}

/** A subgraph's readiness URL: its /graphql URL with /graphql replaced by /ready. */
export function readyUrl(graphqlUrl: string): string {
  const url = new URL(graphqlUrl);
  url.pathname = url.pathname.replace(/\/graphql\/?$/, '') + '/ready';
  url.search = '';
  return url.toString();
}
