import { SERVICE_KEY_HEADER } from '../../common/auth.ts';
import { Breaker, type BreakerConfig } from '../../common/breaker.ts';
import type { Logger } from '../../common/logger.ts';
import { traceHeaders } from '../../common/tracing.ts';
import type { ReleaseOutcome, ReserveOutcome } from '../../subgraphs/inventory/module.ts';

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
  /** The BREAKER_* settings of the breaker around every inventory call. */
  config: BreakerConfig;
  logger: Logger;
  /** The workers' service identity (SERVICE_API_KEY), which the internal mutations require. */
  serviceKey: string;
}

type Call = [field: string, query: string, variables: Record<string, unknown>, ids: CallIds];

const RESERVE = `mutation ReserveStock($orderId: ID!, $productId: ID!, $quantity: Int!) {
  reserveStock(orderId: $orderId, productId: $productId, quantity: $quantity) { outcome }
}`;

const RELEASE = `mutation ReleaseStock($orderId: ID!) {
  releaseStock(orderId: $orderId) { outcome }
}`;

/**
 * Calls inventory's internal reserveStock / releaseStock mutations directly,
 * with a timeout and the workers' service key (SERVICE_API_KEY), inside an opossum breaker (`inventory`, the BREAKER_*
 * settings): every InventoryUnavailableError counts against it; while it is
 * open a call rejects at once with EOPENBREAKER and the order worker pauses its
 * queue instead of spending an attempt (workers/pause.ts).
 */
export class InventoryClient {
  readonly breaker: Breaker<Call, string>;

  constructor(private readonly options: InventoryClientOptions) {
    // The call keeps its own timeout (INVENTORY_TIMEOUT_MS) and error messages; the breaker adds none.
    this.breaker = new Breaker((_signal, ...call: Call) => this.call(...call), { name: 'inventory', config: options.config, logger: options.logger, timeoutMs: false });
  }

  async reserve(orderId: string, productId: string, quantity: number, ids: CallIds = {}): Promise<ReserveOutcome> {
    return (await this.breaker.fire('reserveStock', RESERVE, { orderId, productId, quantity }, ids)) as ReserveOutcome;
  }

  async release(orderId: string, ids: CallIds = {}): Promise<ReleaseOutcome> {
    return (await this.breaker.fire('releaseStock', RELEASE, { orderId }, ids)) as ReleaseOutcome;
  }

  /** Stops the breaker's timers. */
  close(): void {
    this.breaker.shutdown();
  }

  private async call(field: string, query: string, variables: Record<string, unknown>, ids: CallIds): Promise<string> {
    const { url, timeoutMs } = this.options;
    let response: Response;
    let body: { data?: Record<string, { outcome?: string } | null> | null; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SERVICE_KEY_HEADER]: this.options.serviceKey,
          ...(ids.requestId ? { 'x-request-id': ids.requestId } : {}),
          ...(ids.correlationId ? { 'x-correlation-id': ids.correlationId } : {}),
          // The order job's span, so inventory continues the order's trace.
          ...traceHeaders(),
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
