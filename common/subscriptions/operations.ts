import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  locatedError,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLFormattedError,
} from 'graphql';
import { decodeJwt } from 'jose';
import type { Viewer } from '../auth.ts';
import { ServiceUnavailableError, UnauthenticatedError, createErrorFormatter, isDatabaseUnavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { openSubscriptions, subscriptionEvents } from './metrics.ts';

/** A result as it is sent: its errors formatted. */
export type FormattedResult = Omit<ExecutionResult, 'errors'> & { errors?: GraphQLFormattedError[] };

/** How a subscriber is connected: GraphQL over SSE, graphql-ws over a WebSocket, or Apollo's multipart HTTP (the gateway). */
export type Protocol = 'sse' | 'ws' | 'multipart';

/** What a transport tells the executor about one operation, keyed by the operation's context value. */
export interface OperationTransport {
  protocol: Protocol;
  /** The subscriber's viewer: its token's `exp` ends the stream. */
  viewer: Viewer | null;
  /** Resolves when the connection can take another event (SSE: its socket has drained). */
  ready?(): Promise<void>;
}

/** When a verified token expires (ms since the epoch); undefined without a token. */
export function expiryOf(viewer: Viewer | null): number | undefined {
  if (!viewer) return undefined;
  const { exp } = decodeJwt(viewer.token);
  return typeof exp === 'number' ? exp * 1000 : undefined;
}

const expired = () =>
  new UnauthenticatedError(
    'the bearer token has expired: subscribe again with a fresh token (orderUpdates: with after, the cursor of the last update received)',
  );
const shuttingDown = () =>
  new ServiceUnavailableError(
    'this server is shutting down: subscribe again, and another replica answers (orderUpdates: with after, the cursor of the last update received)',
    0,
  );

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** The one root field of a subscription operation (for the path of a terminal error and the metric's label). */
function rootField(args: ExecutionArgs): FieldNode | undefined {
  const selection = getOperationAST(args.document, args.operationName)?.selectionSet.selections[0];
  return selection?.kind === 'Field' ? selection : undefined;
}

/** What a server counts of its subscriptions (default: the subgraph metrics of metrics.ts, labelled with `subgraph`). */
export interface OperationsMetrics {
  opened(protocol: Protocol): void;
  closed(protocol: Protocol): void;
  /** One result sent on a stream of `field`. */
  delivered(protocol: Protocol, field: string): void;
}

export interface OperationsOptions<C> {
  /** The subgraph's name (metric label). */
  subgraph: string;
  /**
   * The source stream of a subscription, or a result refusing it (default:
   * graphql-js' createSourceEventStream, i.e. the schema's subscribe resolvers).
   * A gateway gives its own: the events of a subgraph's subscription.
   */
  source?(args: ExecutionArgs, transport: OperationTransport): Promise<AsyncIterable<unknown> | ExecutionResult>;
  /** One event's result, executed with perEvent's context (default: graphql-js' execute with the event as the root value). */
  execute?(args: ExecutionArgs, event: unknown): Promise<ExecutionResult>;
  metrics?: OperationsMetrics;
  /** The context an event is executed with: fresh per event (new DataLoaders), as each query has its own. */
  perEvent(context: C): C;
  production: boolean;
  logger: Logger;
}

/**
 * Runs the subscription operations of one server, over any transport: each
 * source stream's events are executed with a fresh context, the stream ends
 * with UNAUTHENTICATED when the subscriber's token expires and with
 * SERVICE_UNAVAILABLE when the server shuts down, and results are formatted
 * as Apollo Server formats a query's (unexpected errors masked in production).
 */
export class Operations<C extends object> {
  private readonly transports = new WeakMap<object, OperationTransport>();
  private readonly open = new Set<OperationStream<C>>();
  /** Streams opened since the server started, by protocol (never decreases). */
  private readonly openedTotal = new Map<Protocol, number>();
  private readonly emptied = new Set<() => void>();
  private readonly format: ReturnType<typeof createErrorFormatter>;
  private closing = false;

  readonly metrics: OperationsMetrics;

  constructor(readonly options: OperationsOptions<C>) {
    this.format = createErrorFormatter(options.production, { database: true });
    const subgraph = options.subgraph;
    this.metrics = options.metrics ?? {
      opened: (protocol) => openSubscriptions.inc({ subgraph, protocol }),
      closed: (protocol) => openSubscriptions.dec({ subgraph, protocol }),
      delivered: (protocol, field) => subscriptionEvents.inc({ subgraph, protocol, field }),
    };
  }

  /** Says how the operation with this context value is connected (before it is executed). */
  bind(context: C, transport: OperationTransport): C {
    this.transports.set(context, transport);
    return context;
  }

  /** graphql-js' subscribe() for graphql-sse and graphql-ws: the operation's results as a stream. */
  readonly subscribe = async (args: ExecutionArgs): Promise<ExecutionResult | AsyncGenerator<ExecutionResult, undefined, undefined>> => {
    const context = args.contextValue as C;
    const transport = this.transports.get(context);
    if (!transport) throw new Error('subscription operation with an unbound context');
    const field = rootField(args);
    if (this.closing) return terminal(shuttingDown(), field);
    const expiresAt = expiryOf(transport.viewer);
    if (expiresAt !== undefined && expiresAt <= Date.now()) return terminal(expired(), field);
    const source = this.options.source ? await this.options.source(args, transport) : await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    // Shutting down while the source was being made: release it.
    if (this.closing) {
      void source[Symbol.asyncIterator]().return?.();
      return terminal(shuttingDown(), field);
    }
    return new OperationStream(this, source, args, transport, field, expiresAt);
  };

  /** A result as a client receives it: each error formatted (unexpected ones logged, and masked in production). */
  formatResult(result: ExecutionResult, context?: { requestId?: string }): FormattedResult {
    const { errors, ...rest } = result;
    return errors ? { ...rest, errors: errors.map((error) => this.formatError(error, context)) } : rest;
  }

  formatError(error: GraphQLError, context?: { requestId?: string }): GraphQLFormattedError {
    const formatted = this.format(error.toJSON(), error);
    const fields = { err: error.originalError ?? error, requestId: context?.requestId, path: error.path };
    if (formatted.extensions?.code === 'INTERNAL_SERVER_ERROR') this.options.logger.error(fields, 'unexpected error in a subscription');
    else if (isDatabaseUnavailable(error.originalError)) this.options.logger.warn(fields, 'database unavailable: answered SERVICE_UNAVAILABLE');
    return formatted;
  }

  /** Open subscription streams, of one protocol or all. */
  count(protocol?: Protocol): number {
    let n = 0;
    for (const stream of this.open) if (!protocol || stream.protocol === protocol) n += 1;
    return n;
  }

  /**
   * Streams ever opened, of one protocol or all: a stream counts once its source is registered (for orderUpdates,
   * in the change feed), so a change made after the count moved is in it. graphql-ws acknowledges no subscribe:
   * this is how a caller in the same process knows a subscription is live.
   */
  started(protocol?: Protocol): number {
    if (protocol) return this.openedTotal.get(protocol) ?? 0;
    let n = 0;
    for (const total of this.openedTotal.values()) n += total;
    return n;
  }

  /** Ends every open stream with SERVICE_UNAVAILABLE (clients subscribe again elsewhere), and refuses new ones. */
  endAll(): void {
    this.closing = true;
    for (const stream of this.open) stream.stop(shuttingDown());
  }

  /** Resolves when no stream is open any more, or after `timeoutMs`. */
  async drained(timeoutMs: number): Promise<void> {
    if (this.open.size === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emptied.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.emptied.add(done);
    });
  }

  /** @internal OperationStream's bookkeeping. */
  opened(stream: OperationStream<C>): void {
    this.open.add(stream);
    this.openedTotal.set(stream.protocol, (this.openedTotal.get(stream.protocol) ?? 0) + 1);
    this.metrics.opened(stream.protocol);
  }

  /** @internal */
  closed(stream: OperationStream<C>): void {
    if (!this.open.delete(stream)) return;
    this.metrics.closed(stream.protocol);
    if (this.open.size === 0) for (const done of [...this.emptied]) done();
  }
}

/** A result that ends a stream: `error` on the subscription's field, data null. */
function terminal(error: unknown, field: FieldNode | undefined): ExecutionResult {
  const located = field
    ? locatedError(error, [field], [field.alias?.value ?? field.name.value])
    : error instanceof GraphQLError
      ? error
      : locatedError(error, undefined);
  return { data: null, errors: [located] };
}

type Outcome<T> = { event: IteratorResult<T> } | { error: unknown } | { stopped: GraphQLError | null };

/**
 * One subscription's results. Hand-written rather than an async generator
 * function: return() and stop() end it at once even while it waits for the
 * next event, so a subscriber that leaves releases its source immediately.
 */
class OperationStream<C extends object> implements AsyncGenerator<ExecutionResult, undefined, undefined> {
  readonly protocol: Protocol;
  private finished = false;
  private stoppedWith: GraphQLError | null | undefined;
  private wake: ((outcome: Outcome<unknown>) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly iterator: AsyncIterator<unknown>;

  constructor(
    private readonly operations: Operations<C>,
    source: AsyncIterable<unknown>,
    private readonly args: ExecutionArgs,
    private readonly transport: OperationTransport,
    private readonly field: FieldNode | undefined,
    expiresAt: number | undefined,
  ) {
    this.protocol = transport.protocol;
    this.iterator = source[Symbol.asyncIterator]();
    operations.opened(this);
    if (expiresAt !== undefined) {
      // setTimeout holds at most 2^31-1 ms (24.8 days): a token valid longer is checked again then.
      const arm = () => {
        if (Date.now() >= expiresAt) return this.stop(expired());
        this.timer = setTimeout(arm, Math.min(expiresAt - Date.now(), 2 ** 31 - 1));
        this.timer.unref();
      };
      arm();
    }
  }

  /** Ends the stream: with `error` as its last result, or (null) quietly. */
  stop(error: GraphQLError | null): void {
    if (this.finished || this.stoppedWith !== undefined) return;
    this.stoppedWith = error;
    this.wake?.({ stopped: error });
  }

  async next(): Promise<IteratorResult<ExecutionResult, undefined>> {
    if (this.finished) return DONE;
    await this.transport.ready?.();
    const outcome = await new Promise<Outcome<unknown>>((resolve) => {
      if (this.stoppedWith !== undefined) return resolve({ stopped: this.stoppedWith });
      this.wake = resolve;
      this.iterator.next().then(
        (event) => resolve({ event }),
        (error: unknown) => resolve({ error }),
      );
    });
    this.wake = undefined;
    if ('stopped' in outcome) {
      this.finish();
      return outcome.stopped ? { done: false, value: terminal(outcome.stopped, this.field) } : DONE;
    }
    if ('error' in outcome) {
      this.finish();
      return { done: false, value: terminal(outcome.error, this.field) };
    }
    if (outcome.event.done) {
      this.finish();
      return DONE;
    }
    const { options } = this.operations;
    const contextValue = options.perEvent(this.args.contextValue as C);
    const result = options.execute
      ? await options.execute({ ...this.args, contextValue }, outcome.event.value)
      : await execute({ ...this.args, rootValue: outcome.event.value, contextValue });
    this.operations.metrics.delivered(this.protocol, this.field?.name.value ?? '(unknown)');
    return { done: false, value: result };
  }

  async return(): Promise<IteratorResult<ExecutionResult, undefined>> {
    this.stop(null);
    this.finish();
    return DONE;
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult, undefined>> {
    this.stop(null);
    this.finish();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.operations.closed(this);
    this.iterator.return?.().catch(() => {});
  }
}
