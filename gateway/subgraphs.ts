import type { Config } from '../common/config.ts';

/** The config variable holding each subgraph's URL; the routing URLs baked into the supergraph are not used. */
const URL_OF = {
  users: 'USERS_URL',
  events: 'EVENTS_URL',
  inventory: 'INVENTORY_URL',
  orders: 'ORDERS_URL',
  notifications: 'NOTIFICATIONS_URL',
} as const satisfies Record<string, keyof Config>;

export class UnknownSubgraphError extends Error {
  override name = 'UnknownSubgraphError';
}

/** The /graphql URL the gateway calls for subgraph `name` (as named in supergraph.yaml). */
export function subgraphUrl(config: Config, name: string): string {
  if (!Object.hasOwn(URL_OF, name)) {
    throw new UnknownSubgraphError(`the supergraph names subgraph "${name}", which has no URL setting (known: ${Object.keys(URL_OF).join(', ')})`);
  }
  return config[URL_OF[name as keyof typeof URL_OF]];
}

/** A subgraph's readiness URL: its /graphql URL with /graphql replaced by /ready. */
export function readyUrl(graphqlUrl: string): string {
  const url = new URL(graphqlUrl);
  url.pathname = url.pathname.replace(/\/graphql\/?$/, '') + '/ready';
  url.search = '';
  return url.toString();
}
