import type { Config } from '../common/config.ts';
import { SUBGRAPHS } from '../subgraphs/index.ts';

export class UnknownSubgraphError extends Error {
  override name = 'UnknownSubgraphError';
}

/** The /graphql URL the gateway calls for subgraph `name` (as named in supergraph.yaml). */
export function subgraphUrl(config: Config, name: string): string {
  // The setting its module names (USERS_URL, ...); the routing URLs baked into the supergraph are not used.
  const subgraph = SUBGRAPHS.find((s) => s.name === name);
  if (!subgraph) {
    throw new UnknownSubgraphError(`the supergraph names subgraph "${name}", which has no URL setting (known: ${SUBGRAPHS.map((s) => s.name).join(', ')})`);
  }
  return config[subgraph.urlSetting];
}

/** A subgraph's readiness URL: its /graphql URL with /graphql replaced by /ready. */
export function readyUrl(graphqlUrl: string): string {
  const url = new URL(graphqlUrl);
  url.pathname = url.pathname.replace(/\/graphql\/?$/, '') + '/ready';
  url.search = '';
  return url.toString();
}
