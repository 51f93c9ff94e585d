/**
 * The Apollo Client of one session: queries and mutations over HTTP, sent by
 * persisted id first (the text only when the gateway asks for it), and
 * subscriptions over graphql-ws, which reconnects and subscribes again after
 * the gateway restarts. Every request carries the session's bearer token.
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { Kind, OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';
import type { WebConfig } from './config';
import { persistedTextOf, sha256HashOf } from './persisted';
import type { Session } from './session';
import { PersistedWsLink } from './ws-link';

export interface SessionClient {
  client: ApolloClient;
  /** Closes the WebSocket and stops the client. */
  close(): void;
}

/** Called when the gateway answers 401: the token expired or was refused. */
export type OnUnauthenticated = () => void;

export function createSessionClient(config: WebConfig, session: Session | null, onUnauthenticated: OnUnauthenticated): SessionClient {
  const authorization = session ? `Bearer ${session.token}` : undefined;

  const ws = createClient({
    url: config.gatewayUrl.replace(/^http/, 'ws'),
    // Read on every (re)connect; graphql-ws opens the socket on the first subscription only.
    connectionParams: () => (authorization ? { authorization } : {}),
    // Retry for ever with graphql-ws's backoff: a restarting gateway closes the socket abruptly,
    // and each subscription is sent again once the socket is back (orderUpdated starts with a snapshot).
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    lazy: true,
  });

  const auth = new SetContextLink(({ headers }) => ({ headers: { ...headers, ...(authorization ? { authorization } : {}) } }));
  const persisted = new PersistedQueryLink({ generateHash: sha256HashOf });
  const http = new HttpLink({
    uri: config.gatewayUrl,
    // When the text is sent (the gateway did not know the id), it is the manifest's, so its sha256 is the id.
    print: (node, print) => (node.kind === Kind.DOCUMENT ? persistedTextOf(node) : print(node)),
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 401) onUnauthenticated();
      return response;
    },
  });

  const link = ApolloLink.split(
    ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
    new PersistedWsLink(ws),
    ApolloLink.from([auth, persisted, http]),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  return {
    client,
    close() {
      client.stop();
      void ws.dispose();
    },
  };
}
