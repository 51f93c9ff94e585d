/**
 * Hive Gateway (@graphql-hive/gateway-runtime, default settings) for
 * `npm run bench -- gateway`, serving SUPERGRAPH_PATH with the subgraphs at
 * SUBGRAPH_URLS (JSON, name → /graphql URL), forwarding the client's
 * Authorization header to the subgraphs (its header propagation option, as
 * test/federation/hive-gateway.int.test.ts does). Env: PORT.
 */
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';

const urls = JSON.parse(process.env.SUBGRAPH_URLS ?? '{}') as Record<string, string>;
const hive = createGatewayRuntime({
  supergraph: process.env.SUPERGRAPH_PATH!,
  transportEntries: Object.fromEntries(Object.entries(urls).map(([name, location]) => [name, { location }])),
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') }),
  },
  logging: false,
});
const server = createServer(hive);
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`hive gateway at http://127.0.0.1:${process.env.PORT}/graphql`));
