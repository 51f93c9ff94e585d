import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';

export interface Problem {
  /** extensions.code of the first GraphQL error, or the HTTP status. */
  code: string;
  message: string;
}

/** What went wrong, in the API's words: its error code and message. */
export function problemOf(error: unknown): Problem {
  if (CombinedGraphQLErrors.is(error)) {
    const first = error.errors[0];
    return { code: String(first?.extensions?.code ?? 'GRAPHQL_ERROR'), message: first?.message ?? error.message };
  }
  if (ServerError.is(error)) {
    try {
      const body = JSON.parse(error.bodyText) as { errors?: { message?: string; extensions?: { code?: string } }[] };
      const first = body.errors?.[0];
      if (first) return { code: first.extensions?.code ?? `HTTP_${error.statusCode}`, message: first.message ?? error.message };
    } catch {
      // Not a GraphQL body: the status says it.
    }
    return { code: `HTTP_${error.statusCode}`, message: error.message };
  }
  return { code: 'NETWORK_ERROR', message: error instanceof Error ? error.message : String(error) };
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const { code, message } = problemOf(error);
  return (
    <p className="error" role="alert" data-testid="error" data-code={code}>
      <strong>{code}</strong> {message}
    </p>
  );
}
