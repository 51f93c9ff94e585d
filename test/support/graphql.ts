export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
  extensions?: Record<string, any>;
}

/** POSTs a GraphQL operation over real HTTP. */
export async function gql<T = any>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Pick<GraphQLResponse<T>, 'data' | 'errors' | 'extensions'>;
  return { status: response.status, headers: response.headers, ...body };
}

/** The data of a response that must have no errors. */
export async function gqlData<T = any>(url: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<T> {
  const response = await gql<T>(url, query, variables, headers);
  if (response.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  return response.data as T;
}

/**
 * gql and gqlData that send `headers()` (e.g. a signed-in user's or an
 * admin's Authorization) with every call; a call's own headers win.
 */
export function signedIn(headers: () => Record<string, string>) {
  return {
    gql: <T = any>(url: string, query: string, variables: Record<string, unknown> = {}, own: Record<string, string> = {}) =>
      gql<T>(url, query, variables, { ...headers(), ...own }),
    gqlData: <T = any>(url: string, query: string, variables: Record<string, unknown> = {}, own: Record<string, string> = {}) =>
      gqlData<T>(url, query, variables, { ...headers(), ...own }),
  };
}
