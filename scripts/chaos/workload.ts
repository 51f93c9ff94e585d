/**
 * The clients of `npm run chaos`: a seeded mix of sign-ups, orders (with and
 * without idempotency keys, repeats included), cancels, ingested events
 * (repeated ids included), reads and restocks through the gateway, each
 * recorded with what the client was told; and subscribers that follow their
 * user's orders with orderUpdates, resuming with `after` whenever the stream ends.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import type { TestIdentity } from '../../test/support/identity.ts';
import { wsClient } from '../../test/support/subscriptions.ts';
import { DEFINITE_ERRORS, type Operation, type Outcome, type Subscriber } from './audit.ts';
import { between, KEY_WEIGHTS, OPERATION_WEIGHTS, pick, seededRng, weighted, type OperationKind, type Rng } from './schedule.ts';

/** A client that hears nothing for this long counts the outcome as unknown. */
export const OPERATION_TIMEOUT_MS = 10_000;

export interface Answer {
  outcome: Outcome;
  code?: string;
  data?: any;
}

/** POSTs an operation to the gateway and classifies the answer: ok, a definite refusal, or unknown. */
export async function send(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(OPERATION_TIMEOUT_MS),
    });
  } catch (error) {
    return { outcome: 'unknown', code: (error as Error).name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK' };
  }
  let body: { data?: any; errors?: { extensions?: { code?: string } }[] };
  try {
    body = (await response.json()) as typeof body;
  } catch (error) {
    return { outcome: 'unknown', code: (error as Error).name === 'TimeoutError' ? 'TIMEOUT' : `HTTP_${response.status}` };
  }
  const code = body.errors?.[0]?.extensions?.code;
  if (!body.errors?.length) return { outcome: 'ok', data: body.data };
  return { outcome: code && DEFINITE_ERRORS.has(code) ? 'error' : 'unknown', code: code ?? `HTTP_${response.status}` };
}

const PLACE = 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }';
const CANCEL = 'mutation($id: ID!) { cancelOrder(id: $id) { id status } }';
const INGEST = 'mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId status } }';
const SIGNUP = 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }';
const RESTOCK = 'mutation($id: ID!, $quantity: Int!) { restockProduct(id: $id, quantity: $quantity) { id stock } }';
const READ_ORDER = 'query($id: ID!) { order(id: $id) { id status history { status } product { name } } }';
const READ_ORDERS = 'query { orders(first: 5) { nodes { id status } totalCount } }';
const CREATE_PRODUCT = 'mutation($input: CreateProductInput!) { createProduct(input: $input) { id } }';

export interface WorkloadOptions {
  gatewayUrl: string;
  identity: TestIdentity;
  admin: Record<string, string>;
  ingestKey: string;
  seed: number;
}

/** The shared state of the clients: users, products, orders and keys so far, and the history. */
export class Workload {
  readonly history: Operation[] = [];
  readonly users: string[] = [];
  readonly products: string[] = [];
  private readonly orders: { id: string; userId: string }[] = [];
  private readonly keys: { key: string; input: Record<string, any> }[] = [];
  private readonly eventIds: { eventId: string; userId: string }[] = [];
  private readonly tokens = new Map<string, Record<string, string>>();
  private nextId = 1;

  constructor(private readonly options: WorkloadOptions) {}

  /** Headers signed in as `userId` (a token from the run's identity provider, minted once). */
  async as(userId: string): Promise<Record<string, string>> {
    let headers = this.tokens.get(userId);
    if (!headers) {
      headers = await this.options.identity.headers(userId);
      this.tokens.set(userId, headers);
    }
    return headers;
  }

  /** Runs one operation, recording it with its outcome and latency. */
  async record(
    client: number,
    kind: OperationKind,
    input: Record<string, any>,
    query: string,
    variables: Record<string, unknown>,
    headers: Record<string, string>,
  ): Promise<Operation> {
    const op: Operation = { id: this.nextId++, client, kind, startMs: Date.now(), endMs: 0, outcome: 'unknown', input };
    const answer = await send(this.options.gatewayUrl, query, variables, headers);
    op.endMs = Date.now();
    op.outcome = answer.outcome;
    if (answer.code) op.code = answer.code;
    if (answer.outcome === 'ok') op.result = Object.values(answer.data ?? {})[0] as Record<string, any>;
    this.history.push(op);
    return op;
  }

  /** Products and users to start from, through the gateway; fails loudly (the system is calm then). */
  async setUp(products: number, stock: number, users: number): Promise<void> {
    for (let i = 0; i < products; i++) {
      const id = `CHAOS-${i + 1}`;
      const answer = await send(
        this.options.gatewayUrl,
        CREATE_PRODUCT,
        { input: { id, name: `Chaos product ${i + 1}`, priceCents: 999, stock } },
        this.options.admin,
      );
      if (answer.outcome !== 'ok') throw new Error(`cannot create product ${id}: ${answer.code}`);
      this.products.push(id);
    }
    for (let i = 0; i < users; i++) {
      const op = await this.signUp(0);
      if (op.outcome !== 'ok') throw new Error(`cannot sign a user up: ${op.code}`);
    }
  }

  async signUp(client: number): Promise<Operation> {
    const tag = randomUUID().slice(0, 8);
    const input = { name: `Chaos ${tag}`, email: `chaos-${tag}@example.com` };
    const op = await this.record(client, 'signup', input, SIGNUP, { input }, {});
    if (op.outcome === 'ok') this.users.push(op.result!.id);
    return op;
  }

  async placeOrder(client: number, rng: Rng, userId = pick(rng, this.users)): Promise<Operation> {
    const mode = this.keys.length === 0 ? 'fresh' : weighted(rng, KEY_WEIGHTS);
    let input: Record<string, any> = { userId, productId: pick(rng, this.products), quantity: between(rng, 1, 3) };
    if (mode === 'fresh') input.idempotencyKey = randomUUID();
    if (mode === 'repeat' || mode === 'conflict') {
      const earlier = pick(rng, this.keys);
      input = mode === 'repeat' ? { ...earlier.input } : { ...earlier.input, quantity: earlier.input.quantity + 1 };
    }
    const op = await this.record(client, 'placeOrder', input, PLACE, { input }, await this.as(input.userId));
    if (mode === 'fresh') this.keys.push({ key: input.idempotencyKey, input });
    if (op.outcome === 'ok' && !this.orders.some((o) => o.id === op.result!.id)) this.orders.push({ id: op.result!.id, userId: input.userId });
    return op;
  }

  /** One operation of the seeded mix. */
  async step(client: number, rng: Rng): Promise<Operation> {
    let kind = weighted(rng, OPERATION_WEIGHTS);
    if ((kind === 'cancelOrder' || kind === 'read') && this.orders.length === 0) kind = 'placeOrder';
    switch (kind) {
      case 'signup':
        return this.signUp(client);
      case 'placeOrder':
        return this.placeOrder(client, rng);
      case 'cancelOrder': {
        const order = pick(rng, this.orders);
        return this.record(client, kind, { orderId: order.id, userId: order.userId }, CANCEL, { id: order.id }, await this.as(order.userId));
      }
      case 'ingestEvent': {
        const earlier = this.eventIds.length > 0 && rng() < 0.3 ? pick(rng, this.eventIds) : undefined;
        const event = earlier ?? { eventId: `chaos-${randomUUID()}`, userId: pick(rng, this.users) };
        if (!earlier) this.eventIds.push(event);
        const input = { eventId: event.eventId, eventType: 'chaos_ping', timestamp: new Date().toISOString(), payload: { userId: event.userId } };
        return this.record(client, kind, event, INGEST, { input }, { 'x-api-key': this.options.ingestKey });
      }
      case 'read': {
        const order = pick(rng, this.orders);
        if (rng() < 0.5) return this.record(client, kind, { what: 'order' }, READ_ORDER, { id: order.id }, await this.as(order.userId));
        return this.record(client, kind, { what: 'orders' }, READ_ORDERS, {}, await this.as(order.userId));
      }
      case 'restock': {
        const input = { productId: pick(rng, this.products), quantity: between(rng, 1, 10) };
        return this.record(client, kind, input, RESTOCK, { id: input.productId, quantity: input.quantity }, this.options.admin);
      }
    }
  }

  /** Runs `clients` clients, each with its own seeded choices and a short think time, until `until()` is true. */
  async run(clients: number, until: () => boolean): Promise<void> {
    await Promise.all(
      Array.from({ length: clients }, async (_, index) => {
        const rng = seededRng(this.options.seed * 1000 + index + 1);
        while (!until()) {
          await this.step(index + 1, rng);
          await new Promise((resolve) => setTimeout(resolve, between(rng, 10, 60)));
        }
      }),
    );
  }
}

const WATCH = 'subscription($after: String) { orderUpdates(after: $after) { cursor change { status } order { id } } }';

/**
 * A client following its user's orders with orderUpdates over graphql-ws
 * through the gateway. When the stream ends (the gateway or the orders
 * subgraph killed, frozen past a heartbeat), it subscribes again with the last
 * cursor it received, every half second until it is back.
 */
export class Watcher {
  readonly received: { orderId: string; status: string }[] = [];
  resumes = 0;
  private cursor: string | undefined;
  private client: Client | undefined;
  private stopped = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly gatewayUrl: string,
    readonly userId: string,
    private readonly headers: Record<string, string>,
  ) {}

  start(): void {
    this.subscribe();
  }

  private subscribe(): void {
    if (this.stopped) return;
    this.dispose();
    const client = wsClient(this.gatewayUrl, { authorization: this.headers.authorization });
    this.client = client;
    let ended = false;
    const again = () => {
      if (ended || this.stopped) return;
      ended = true;
      this.resumes += 1;
      setTimeout(() => this.subscribe(), 500);
    };
    client.subscribe<{ orderUpdates: { cursor: string; change: { status: string }; order: { id: string } } }>(
      { query: WATCH, variables: { after: this.cursor ?? null } },
      {
        next: (result) => {
          const update = result.data?.orderUpdates;
          if (!update) return again();
          this.cursor = update.cursor;
          this.received.push({ orderId: update.order.id, status: update.change.status });
          for (const wake of this.waiters.splice(0)) wake();
        },
        error: again,
        complete: again,
      },
    );
  }

  /** Waits until it has received something about `orderId`; false after `timeoutMs`. */
  async sawOrder(orderId: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.received.some((r) => r.orderId === orderId)) {
      if (Date.now() > deadline) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** What it received, for the audit; `excluded`: the order placed to learn the stream was live. */
  report(excluded: string[]): Subscriber {
    return { userId: this.userId, excluded, received: [...this.received], resumes: this.resumes };
  }

  stop(): void {
    this.stopped = true;
    this.dispose();
  }

  /**
   * Closes the client it has. graphql-ws's dispose() rejects with the socket's CloseEvent when the socket is
   * still connecting (the gateway just killed or frozen); unhandled, that rejection ended the hour-long run
   * of seed 2027 after it was at rest, before its audit.
   */
  private dispose(): void {
    Promise.resolve(this.client?.dispose()).catch(() => {});
  }
}
