import { startScriptedPartner } from './partner-server.ts';

export interface ProviderRequest {
  key: string;
  /** ms since the epoch when the request arrived. */
  at: number;
  body: Record<string, unknown>;
  /** Its W3C `traceparent` header, when it had one. */
  traceparent?: string;
  /** The answer given (or to be given). */
  status: number;
  /** Accepted before under the same key: answered 200 as a replay, not delivered again. */
  replay: boolean;
}

/** How the provider answers the nth request (1-based) carrying `key`: a status, optionally after a delay. */
export type Behaviour = (key: string, nth: number) => { status: number; delayMs?: number };

export interface TestProvider {
  /** Base URL, to use as NOTIFY_URL. */
  url: string;
  requests: ProviderRequest[];
  /** Keys the provider accepted, each once: a repeated key is answered as a replay, not a second delivery. */
  delivered: Set<string>;
  behave(behaviour: Behaviour): void;
  /** Arrival times of the requests carrying `key`. */
  timesOf(key: string): number[];
  close(): Promise<void>;
}

export const accept: Behaviour = () => ({ status: 202 });
export const down: Behaviour = () => ({ status: 503 });
export const failFirst =
  (n: number, status = 503): Behaviour =>
  (_key, nth) => ({ status: nth <= n ? status : 202 });

/**
 * A real HTTP notification provider for tests: POST /messages with an
 * Idempotency-Key, answering as told (fail on purpose, hang, refuse), and
 * recording every request and every distinct key delivered.
 */
export async function startTestProvider(behaviour: Behaviour = accept): Promise<TestProvider> {
  let current = behaviour;
  const requests: ProviderRequest[] = [];
  const delivered = new Set<string>();
  // The scripted partner serves HTTP (bodies, delays, hung answers, closing); this is the provider's protocol on it.
  const partner = await startScriptedPartner();
  partner.answer((call) => {
    const key = call.headers['idempotency-key'];
    if (call.method !== 'POST' || call.path !== '/messages' || typeof key !== 'string') return { status: 400 };
    const nth = requests.filter((r) => r.key === key).length + 1;
    const { status, delayMs } = current(key, nth);
    const traceparent = typeof call.headers.traceparent === 'string' ? call.headers.traceparent : undefined;
    const replay = status < 300 && delivered.has(key);
    requests.push({ key, at: call.at, body: JSON.parse(call.body || '{}'), traceparent, status, replay });
    if (status < 300) delivered.add(key);
    return { status: replay ? 200 : status, json: { key, replay }, delayMs };
  });
  return {
    url: partner.url,
    requests,
    delivered,
    behave(next) {
      current = next;
    },
    timesOf: (key) => requests.filter((r) => r.key === key).map((r) => r.at),
    close: () => partner.close(),
  };
}
