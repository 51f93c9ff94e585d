/**
 * Where the app finds the API and the identity provider: /config.json, from
 * whoever serves the app (serve.js writes it from its environment; public/config.json
 * holds the local defaults for `vite` and any static host).
 */
export interface WebConfig {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql (subscriptions: the same URL over ws://). */
  gatewayUrl: string;
  /** The development identity provider's base URL (POST /auth/token), e.g. http://127.0.0.1:4010. */
  identityUrl: string;
}

export async function loadConfig(): Promise<WebConfig> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  const config = (await response.json()) as Partial<WebConfig>;
  if (typeof config.gatewayUrl !== 'string' || typeof config.identityUrl !== 'string') {
    throw new Error('/config.json must name gatewayUrl and identityUrl');
  }
  return { gatewayUrl: config.gatewayUrl, identityUrl: config.identityUrl };
}
