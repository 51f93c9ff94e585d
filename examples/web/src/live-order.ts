import { useSubscription } from '@apollo/client/react';
import { useEffect, useState } from 'react';
import { problemOf } from './errors';
import type { OrderUpdatedSubscription as OrderUpdatedData } from './gql/graphql';
import { OrderUpdatedSubscription } from './operations';

export type LiveOrder = NonNullable<OrderUpdatedData['orderUpdated']>;

export interface LiveOrderState {
  order: LiveOrder | null;
  error: unknown;
  /** The order does not exist, or it is someone else's. */
  notFound: boolean;
  /** Changes arrive as they happen. */
  live: boolean;
  /** The stream was cut (the gateway restarted, the network failed) and is being opened again. */
  reconnecting: boolean;
}

/** Errors that subscribing again cannot change. */
const FINAL = new Set(['NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'PERSISTED_QUERY_NOT_IN_LIST']);

/** How long to wait before subscribing again after the stream was cut. */
const RESUBSCRIBE_MS = 1000;

/**
 * The order `id`, live: `orderUpdated` sends the order as it is now, then the
 * order after each status change, and completes after a final one. When the
 * gateway ends the stream (it restarts: SERVICE_UNAVAILABLE) or the socket
 * fails, the hook subscribes again; the new stream starts with the order as it
 * is then, so nothing that happened in between is missed.
 */
export function useLiveOrder(id: string): LiveOrderState {
  const [order, setOrder] = useState<LiveOrder | null>(null);
  const { error, restart } = useSubscription(OrderUpdatedSubscription, {
    variables: { id },
    onData: ({ data }) => {
      const next = data.data?.orderUpdated;
      if (next) setOrder(next);
    },
  });
  useEffect(() => setOrder(null), [id]);
  const code = error ? problemOf(error).code : undefined;
  const reconnecting = error !== undefined && !FINAL.has(code!);
  useEffect(() => {
    if (!reconnecting) return;
    const timer = setTimeout(restart, RESUBSCRIBE_MS);
    return () => clearTimeout(timer);
  }, [reconnecting, error, restart]);
  return {
    order,
    error: reconnecting || code === 'NOT_FOUND' ? undefined : error,
    notFound: code === 'NOT_FOUND',
    live: order !== null && !error,
    reconnecting,
  };
}
