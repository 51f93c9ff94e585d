import type { Config } from '../../scripts/settings.ts';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { startGateway, type Stack, type SubgraphName } from './stack.ts';

export interface RecordedGateway {
  /** The gateway's /graphql URL. */
  url: string;
  /** Each subgraph's recording proxy. */
  proxies: Record<SubgraphName, RecordingProxy>;
  /** Requests the gateway has sent to any subgraph so far. */
  subgraphCalls(): number;
  close(): Promise<void>;
}

/**
 * A second real gateway over a stack's subgraphs, with `overrides` applied to
 * its configuration, that reaches every subgraph through a recording proxy:
 * subgraphCalls() tells whether an operation reached any subgraph at all.
 */
export async function startRecordedGateway(stack: Stack, overrides: Partial<Config> = {}): Promise<RecordedGateway> {
  const proxies = {} as Record<SubgraphName, RecordingProxy>;
  const urls: Partial<Config> = {};
  for (const { name, urlSetting } of SUBGRAPHS) {
    proxies[name] = await startRecordingProxy(new URL(stack.urls[name]!).origin);
    Object.assign(urls, { [urlSetting]: `${proxies[name].url}/graphql` });
  }
  const gateway = await startGateway({ ...stack.config, ...urls, ...overrides }, 'recorded-gateway');
  return {
    url: gateway.url,
    proxies,
    subgraphCalls: () => Object.values(proxies).reduce((sum, proxy) => sum + proxy.exchanges.length, 0),
    async close() {
      await gateway.close();
      for (const proxy of Object.values(proxies)) await proxy.close();
    },
  };
}
