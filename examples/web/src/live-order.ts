import { useQuery } from '@apollo/client/react';
import type { OrderQuery as OrderData } from './gql/graphql';
import { OrderQuery } from './operations';

export type LiveOrder = NonNullable<OrderData['order']>;

export interface LiveOrderState {
  order: LiveOrder | null;
  error: unknown;
  /** The order does not exist, or it is someone else's. */
  notFound: boolean;
  /** Changes arrive as they happen. */
  live: boolean;
}

/** The order `id` as it is now. */
export function useLiveOrder(id: string): LiveOrderState {
  const { data, error } = useQuery(OrderQuery, { variables: { id }, fetchPolicy: 'network-only' });
  return { order: data?.order ?? null, error, notFound: data !== undefined && data.order === null, live: false };
}
