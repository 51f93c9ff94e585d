import type { ReleaseOutcome, ReserveOutcome } from '../../subgraphs/inventory/reservations.ts';

export type { ReleaseOutcome, ReserveOutcome };

/**
 * Inventory gave no answer to act on: a timeout, a connection error, a 5xx or
 * a GraphQL error. The call may or may not have taken effect; repeating it is
 * safe because reservation and release are idempotent per order.
 */
export class InventoryUnavailableError extends Error {
  override name = 'InventoryUnavailableError';
}

export interface CallIds {
  requestId?: string;
  correlationId?: string;
}

export interface InventoryClientOptions {
  /** The inventory subgraph's /graphql URL (INVENTORY_URL). */
  url: string;
  /** Longest wait for an answer (INVENTORY_TIMEOUT_MS). */
  timeoutMs: number;
}

const RESERVE = `mutation ReserveStock($orderId: ID!, $productId: ID!, $quantity: Int!) {
  reserveStock(orderId: $orderId, productId: $productId, quantity: $quantity) { outcome }
}`;

const RELEASE = `mutation ReleaseStock($orderId: ID!) {
  releaseStock(orderId: $orderId) { outcome }
}`;

/** Calls inventory's internal reserveStock / releaseStock mutations directly, with a timeout. */
export class InventoryClient {
  constructor(private readonly options: InventoryClientOptions) {}

  async reserve(orderId: string, productId: string, quantity: number, ids: CallIds = {}): Promise<ReserveOutcome> {
    return this.call<ReserveOutcome>('reserveStock', RESERVE, { orderId, productId, quantity }, ids);
  }

  async release(orderId: string, ids: CallIds = {}): Promise<ReleaseOutcome> {
    return this.call<ReleaseOutcome>('releaseStock', RELEASE, { orderId }, ids);
  }

  private async call<O extends string>(field: string, query: string, variables: Record<string, unknown>, ids: CallIds): Promise<O> {
    const { url, timeoutMs } = this.options;
    let response: Response;
    let body: { data?: Record<string, { outcome?: O } | null> | null; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(ids.requestId ? { 'x-request-id': ids.requestId } : {}),
          ...(ids.correlationId ? { 'x-correlation-id': ids.correlationId } : {}),
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status >= 500) throw new InventoryUnavailableError(`inventory answered ${response.status} to ${field}`);
      body = (await response.json()) as typeof body;
    } catch (error) {
      if (error instanceof InventoryUnavailableError) throw error;
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new InventoryUnavailableError(`inventory did not answer ${field} within ${timeoutMs} ms`);
      throw new InventoryUnavailableError(`inventory unreachable for ${field}: ${(error as Error).message}`, { cause: error });
    }
    const outcome = body.data?.[field]?.outcome;
    if (body.errors?.length || !outcome) {
      const first = body.errors?.[0];
      throw new InventoryUnavailableError(`inventory ${field} failed (${response.status}): ${first ? `${first.extensions?.code ?? 'ERROR'} ${first.message}` : 'no outcome'}`);
    }
    return outcome;
  }
}
