/**
 * Stock @apollo/gateway for `npm run bench -- gateway`: ApolloServer over
 * ApolloGateway with its default RemoteGraphQLDataSource, no Junction plugins,
 * serving SUPERGRAPH_PATH. Env: PORT, SUPERGRAPH_PATH, SUBGRAPH_URLS (JSON, name → /graphql URL).
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const urls = JSON.parse(process.env.SUBGRAPH_URLS ?? '{}') as Record<string, string>;
const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH!, 'utf8'),
  buildService: ({ name, url }) => new RemoteGraphQLDataSource({ url: urls[name] ?? url }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { port: Number(process.env.PORT), host: '127.0.0.1' } });
console.log(`stock @apollo/gateway at ${url}`);
