import DataLoader from 'dataloader';
import { Pool } from 'undici';
import { SERVICE_KEY_HEADER } from '../../common/auth.ts';
import { Breaker, type BreakerConfig } from '../../common/breaker.ts';
import type { Logger } from '../../common/logger.ts';
import { traceHeaders } from '../../common/tracing.ts';
import type { ReleaseStockMutation, ReservationOutcome, ReserveStocksMutation } from './generated/inventory.ts';
import { reserveRequests } from './metrics.ts';

/** What releaseStock answers (inventory's schema, through the generated operation types). */
export type ReleaseOutcome = Extract<ReleaseStockMutation['releaseStock']['outcome'], 'RELEASED' | 'NOTHING_TO_RELEASE'>;
/** What reserveStock answers for one order. */
export type ReserveOutcome = Exclude<NonNullable<ReserveStocksMutation['reserveStocks'][number]>['outcome'], ReleaseOutcome>;
/** Every outcome inventory names (the schema's enum). */
export type { ReservationOutcome };

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
  /** How long a reservation waits for others to share its request (INVENTORY_BATCH_WINDOW_MS; 0: those of the same tick). Default 2. */
  batchWindowMs?: number;
  /** Most reservations in one request (INVENTORY_BATCH_MAX). Default 20. */
  batchMax?: number;
}

/** What inventory answered: the GraphQL response body. */
interface Body {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
}

/** One HTTP request to inventory. */
interface Request<T> {
  /** Names the call in error messages. */
  name: string;
  query: string;
  variables: Record<string, unknown>;
  /** The request / correlation ids and trace headers it is sent with. */
  ids: CallIds;
  trace: Record<string, string>;
  /** The answer in the body; throws InventoryUnavailableError when there is none to act on (the breaker counts a failure). */
  read(body: Body, status: number): T;
}

/** One order's reservation, waiting to go in a batch. */
interface ReserveItem {
  orderId: string;
  productId: string;
  quantity: number;
  ids: CallIds;
  /** The trace context of the caller (the order job's span), taken when it asked. */
  trace: Record<string, string>;
}

/** One order's call through the breaker. */
type Call = { kind: 'reserve'; item: ReserveItem } | { kind: 'release'; orderId: string; ids: CallIds };

// The operations' result types are generated from inventory's schema (npm run codegen: generated/inventory.ts).
const RESERVE_BATCH = /* GraphQL */ `
  mutation ReserveStocks($inputs: [ReserveStockInput!]!) {
    reserveStocks(inputs: $inputs) {
      outcome
    }
  }
`;

const RELEASE = /* GraphQL */ `
  mutation ReleaseStock($orderId: ID!) {
    releaseStock(orderId: $orderId) {
      outcome
    }
  }
`;

/** The first error of a body, for a message. */
function describe(error: NonNullable<Body['errors']>[number] | undefined): string {
  return error ? `${error.extensions?.code ?? 'ERROR'} ${error.message}` : 'no outcome';
}

/**
 * Calls inventory's internal mutations directly, with a timeout and the
 * workers' service key (SERVICE_API_KEY), inside an opossum breaker
 * (`inventory`, the BREAKER_* settings): every InventoryUnavailableError counts
 * against it; while it is open a call rejects at once with EOPENBREAKER and the
 * order worker pauses its queue instead of spending an attempt (workers/pause.ts).
 *
 * Reservations asked for within `batchWindowMs` of each other (up to
 * `batchMax` of them) share one HTTP request, `reserveStocks`, with one
 * INVENTORY_TIMEOUT_MS timeout (a batch that times out is an ambiguous failure
 * for every order in it) and each order's own outcome or error. The breaker
 * still sees one call per order, fired when the order asks (the request is
 * made inside those calls): its volume threshold and error percentage mean
 * what they did, so an outage opens it after as few order attempts as before
 * batching (counted per request, a batch of ten timed-out orders would be one
 * failure, and orders would use up their retries before it opened); and while
 * it is half-open it admits one order, so the trial request carries that one
 * order alone. Releases go one by one.
 */
export class InventoryClient {
  readonly breaker: Breaker<[Call], string>;
  /** Keep-alive connections to inventory (an undici Pool costs a fraction of what fetch does per call). */
  private readonly pool: Pool;
  private readonly path: string;
  private readonly reservations: DataLoader<ReserveItem, ReserveOutcome>;

  constructor(private readonly options: InventoryClientOptions) {
    const url = new URL(options.url);
    this.pool = new Pool(url.origin, { keepAliveTimeout: 30_000 });
    this.path = `${url.pathname}${url.search}`;
    // The call keeps its own timeout (INVENTORY_TIMEOUT_MS) and error messages; the breaker adds none.
    this.breaker = new Breaker(
      (_signal, call: Call) => (call.kind === 'reserve' ? this.reservations.load(call.item) : this.releaseNow(call.orderId, call.ids)),
      {
        name: 'inventory',
        config: options.config,
        logger: options.logger,
        timeoutMs: false,
      },
    );
    const windowMs = options.batchWindowMs ?? 2;
    this.reservations = new DataLoader((items) => this.send(items), {
      cache: false,
      maxBatchSize: options.batchMax ?? 20,
      // 0: the calls of the same tick only (DataLoader's own schedule).
      ...(windowMs > 0 ? { batchScheduleFn: (send: () => void) => void setTimeout(send, windowMs) } : {}),
    });
  }

  /** Fires the breaker now (a caller that saw breaker.admits() takes the half-open trial with no wait between); the request goes with the batch. */
  async reserve(orderId: string, productId: string, quantity: number, ids: CallIds = {}): Promise<ReserveOutcome> {
    return (await this.breaker.fire({ kind: 'reserve', item: { orderId, productId, quantity, ids, trace: traceHeaders() } })) as ReserveOutcome;
  }

  async release(orderId: string, ids: CallIds = {}): Promise<ReleaseOutcome> {
    return (await this.breaker.fire({ kind: 'release', orderId, ids })) as ReleaseOutcome;
  }

  /** Stops the breaker's timers and closes the connections. */
  async close(): Promise<void> {
    this.breaker.shutdown();
    await this.pool.close();
  }

  private releaseNow(orderId: string, ids: CallIds): Promise<string> {
    return this.request({
      name: 'releaseStock',
      query: RELEASE,
      variables: { orderId },
      ids,
      trace: traceHeaders(),
      read: (body, status) => {
        const outcome = (body.data?.releaseStock as { outcome?: string } | null | undefined)?.outcome;
        if (body.errors?.length || !outcome) throw new InventoryUnavailableError(`inventory releaseStock failed (${status}): ${describe(body.errors?.[0])}`);
        return outcome;
      },
    });
  }

  /** One reserveStocks request for `items`: each item's outcome, or the error that is its own; rejects (every item) when the request got no usable answer. */
  private send(items: readonly ReserveItem[]): Promise<(ReserveOutcome | Error)[]> {
    reserveRequests.inc();
    const [first] = items;
    return this.request({
      name: 'reserveStocks',
      query: RESERVE_BATCH,
      variables: {
        inputs: items.map(({ orderId, productId, quantity, ids, trace }) => ({
          orderId,
          productId,
          quantity,
          // Each order's trace and ids ride with its input; the request's headers are the first order's.
          ...(trace.traceparent ? { traceparent: trace.traceparent } : {}),
          ...(ids.requestId ? { requestId: ids.requestId } : {}),
          ...(ids.correlationId ? { correlationId: ids.correlationId } : {}),
        })),
      },
      ids: first!.ids,
      trace: first!.trace,
      read: (body, status) => {
        const list = body.data?.reserveStocks;
        if (!Array.isArray(list) || list.length !== items.length)
          throw new InventoryUnavailableError(`inventory reserveStocks failed (${status}): ${describe(body.errors?.[0])}`);
        return items.map((item, i): ReserveOutcome | Error => {
          const outcome = (list[i] as { outcome?: string } | null)?.outcome;
          if (outcome) return outcome as ReserveOutcome;
          const error = body.errors?.find((e) => e.path?.[0] === 'reserveStocks' && e.path[1] === i) ?? body.errors?.[0];
          return new InventoryUnavailableError(`inventory reserveStock failed for order ${item.orderId} (${status}): ${describe(error)}`);
        });
      },
    });
  }

  private async request<T>(request: Request<T>): Promise<T> {
    const { timeoutMs } = this.options;
    const { name, query, variables, ids } = request;
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number;
    let body: Body;
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
          ...request.trace,
        },
        body: JSON.stringify({ query, variables }),
        signal,
      });
      status = response.statusCode;
      if (status >= 500) {
        await response.body.dump();
        throw new InventoryUnavailableError(`inventory answered ${status} to ${name}`);
      }
      body = (await response.body.json()) as Body;
    } catch (error) {
      if (error instanceof InventoryUnavailableError) throw error;
      if (signal.aborted) throw new InventoryUnavailableError(`inventory did not answer ${name} within ${timeoutMs} ms`);
      throw new InventoryUnavailableError(`inventory unreachable for ${name}: ${(error as Error).message}`, { cause: error });
    }
    return request.read(body ?? {}, status);
  }
}
