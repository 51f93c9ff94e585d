/**
 * Stock @apollo/gateway for `npm run bench -- gateway`: ApolloServer over
 * ApolloGateway with a plain RemoteGraphQLDataSource (its `willSendRequest`
 * forwards the client's Authorization header, as any deployment behind
 * sign-in must), no Junction plugins, serving SUPERGRAPH_PATH.
 * Env: PORT, SUPERGRAPH_PATH, SUBGRAPH_URLS (JSON, name → /graphql URL).
 */
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

interface Context {
  authorization?: string;
}

/** The default data source, plus the client's Authorization header on every subgraph request. */
class ForwardAuthorization extends RemoteGraphQLDataSource<Context> {
  override willSendRequest({ request, context }: Parameters<NonNullable<RemoteGraphQLDataSource<Context>['willSendRequest']>>[0]) {
    if (context.authorization) request.http?.headers.set('authorization', context.authorization);
  }
}

const urls = JSON.parse(process.env.SUBGRAPH_URLS ?? '{}') as Record<string, string>;
const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH!, 'utf8'),
  buildService: ({ name, url }) => new ForwardAuthorization({ url: urls[name] ?? url }),
});
const server = new ApolloServer<Context>({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
console.log(`stock @apollo/gateway at ${url}`);
