import { randomUUID } from 'node:crypto';
import { parseConfig } from '../../scripts/settings.ts';
import type { Database } from '../../common/db.ts';
import type { Listening } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { listenSubgraph } from '../../common/subgraph.ts';
import { OrderProcessing } from '../../subgraphs/orders/processing.ts';
import { createOrdersSubgraph } from '../../subgraphs/orders/server.ts';
import { gqlData } from './graphql.ts';
import type { TestIdentity } from './identity.ts';

/** An orders subgraph served on a free port (its subscriptions' WebSockets too), as index.ts serves it. */
export interface OrdersServer {
  url: string;
  base: string;
  subgraph: Awaited<ReturnType<typeof createOrdersSubgraph>>;
  http: Listening;
  /** Ends its streams, stops it and its change feed. */
  close(): Promise<void>;
}

/** Starts an orders subgraph on `db` with the identity provider's settings and `env`. */
export async function startOrders(db: Database, idp: TestIdentity, env: Record<string, string> = {}): Promise<OrdersServer> {
  const config = parseConfig({ ...idp.env, NODE_ENV: 'test', ...env });
  const subgraph = await createOrdersSubgraph({ db, config, logger: createLogger('orders-subscriptions', 'silent') });
  const http = await listenSubgraph(subgraph, 0);
  let closing: Promise<void> | undefined;
  return {
    url: `${http.url}/graphql`,
    base: http.url,
    subgraph,
    http,
    close() {
      closing ??= (async () => {
        await http.close();
        await subgraph.apollo.stop();
        await subgraph.close();
      })();
      return closing;
    },
  };
}

const PLACE_ORDER = 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }';
export const CANCEL_ORDER = 'mutation($id: ID!) { cancelOrder(id: $id) { id status } }';

/** Places an order for `userId` through the subgraph (as that user); returns its id. */
export async function placeFor(url: string, idp: TestIdentity, userId: string, productId = 'MUG-1'): Promise<string> {
  const data = await gqlData(url, PLACE_ORDER, { input: { productId, quantity: 1, idempotencyKey: randomUUID() } }, await idp.headers(userId));
  return data.placeOrder.id;
}

/** The order workers' transitions, on `db` (what workers/orders/processor.ts calls). */
export function workerTransitions(db: Database) {
  const processing = new OrderProcessing(db);
  return {
    processing,
    /** PENDING → PROCESSING, as a worker starting an attempt. */
    async begin(orderId: string) {
      const attempt = await processing.begin(orderId);
      if (attempt.kind !== 'process') throw new Error(`order ${orderId} could not be begun: ${attempt.kind}`);
      return attempt.order;
    },
    /** PENDING → PROCESSING → CONFIRMED. */
    async confirm(orderId: string) {
      const order = await this.begin(orderId);
      const confirmed = await processing.confirm(order);
      if (!confirmed) throw new Error(`order ${orderId} could not be confirmed`);
      return confirmed;
    },
  };
}
