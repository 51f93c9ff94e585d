import { Pool } from 'undici';
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
  /** Keep-alive connections to inventory (an undici Pool costs a fraction of what fetch does per call). */
  private readonly pool: Pool;
  private readonly path: string;

  constructor(private readonly options: InventoryClientOptions) {
    const url = new URL(options.url);
    this.pool = new Pool(url.origin, { keepAliveTimeout: 30_000 });
    this.path = `${url.pathname}${url.search}`;
    // The call keeps its own timeout (INVENTORY_TIMEOUT_MS) and error messages; the breaker adds none.
    this.breaker = new Breaker((_signal, ...call: Call) => this.call(...call), { name: 'inventory', config: options.config, logger: options.logger, timeoutMs: false });
  }

  async reserve(orderId: string, productId: string, quantity: number, ids: CallIds = {}): Promise<ReserveOutcome> {
    return (await this.breaker.fire('reserveStock', RESERVE, { orderId, productId, quantity }, ids)) as ReserveOutcome;
  }

  async release(orderId: string, ids: CallIds = {}): Promise<ReleaseOutcome> {
    return (await this.breaker.fire('releaseStock', RELEASE, { orderId }, ids)) as ReleaseOutcome;
  }

  /** Stops the breaker's timers and closes the connections. */
  async close(): Promise<void> {
    this.breaker.shutdown();
    await this.pool.close();
  }

  private async call(field: string, query: string, variables: Record<string, unknown>, ids: CallIds): Promise<string> {
    const { timeoutMs } = this.options;
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number;
    let body: { data?: Record<string, { outcome?: string } | null> | null; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      const response = await this.pool.request({
        path: this.path,
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
        signal,
      });
      status = response.statusCode;
      if (status >= 500) {
        await response.body.dump();
        throw new InventoryUnavailableError(`inventory answered ${status} to ${field}`);
      }
      body = (await response.body.json()) as typeof body;
    } catch (error) {
      if (error instanceof InventoryUnavailableError) throw error;
      if (signal.aborted) throw new InventoryUnavailableError(`inventory did not answer ${field} within ${timeoutMs} ms`);
      throw new InventoryUnavailableError(`inventory unreachable for ${field}: ${(error as Error).message}`, { cause: error });
    }
    const outcome = body?.data?.[field]?.outcome;
    if (body?.errors?.length || !outcome) {
      const first = body?.errors?.[0];
      throw new InventoryUnavailableError(`inventory ${field} failed (${status}): ${first ? `${first.extensions?.code ?? 'ERROR'} ${first.message}` : 'no outcome'}`);
    }
    return outcome;
  }
}
