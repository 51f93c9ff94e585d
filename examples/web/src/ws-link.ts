import { ApolloLink } from '@apollo/client';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import type { GraphQLFormattedError } from 'graphql';
import type { Client } from 'graphql-ws';
import { Observable } from 'rxjs';
import { persistedTextOf, sha256HashOf } from './persisted';

/**
 * Subscriptions over graphql-ws (subprotocol graphql-transport-ws), sent as
 * persisted documents: the manifest's text and its id. Apollo's GraphQLWsLink
 * does the same but prints the document itself, which is not the manifest's
 * text (docs: apollographql.com/docs/react/data/subscriptions).
 */
export class PersistedWsLink extends ApolloLink {
  constructor(private readonly client: Client) {
    super();
  }

  override request(operation: ApolloLink.Operation): Observable<ApolloLink.Result> {
    const { query, variables, operationName } = operation;
    return new Observable((observer) =>
      this.client.subscribe<ApolloLink.Result['data']>(
        {
          query: persistedTextOf(query),
          variables,
          operationName,
          extensions: { ...operation.extensions, persistedQuery: { version: 1, sha256Hash: sha256HashOf(query) } },
        },
        {
          next: (result) => observer.next(result as ApolloLink.Result),
          complete: () => observer.complete(),
          error: (error: unknown) => {
            // graphql-ws reports a refused subscription as the list of its GraphQL errors.
            if (Array.isArray(error)) return observer.error(new CombinedGraphQLErrors({ errors: error as GraphQLFormattedError[] }));
            if (error instanceof Error) return observer.error(error);
            const reason =
              typeof error === 'object' && error !== null && 'code' in error ? `socket closed (${String((error as { code: unknown }).code)})` : String(error);
            observer.error(new Error(reason));
          },
        },
      ),
    );
  }
}
