import type { EventsConfig as Config } from './settings.ts';
import { ConflictError, InvalidInputError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { isClientError, Partner, statusOf } from '../../common/partner.ts';

/** What addEvent tells the external event registry about a new event. */
export interface RegisteredEvent {
  id: string;
  name: string;
  userId: string;
  startsAt: Date;
}

/**
 * The external event registry. addEvent awaits register() before it stores
 * anything; a rejection (a DomainError such as ServiceUnavailableError)
 * fails the mutation as is and nothing is stored.
 */
export interface EventRegistry {
  register(event: RegisteredEvent): Promise<void>;
}

/**
 * The event registry at EVENT_REGISTRY_URL, behind its own breaker
 * (`event-registry`). POSTs are retried like any partner call: the event id
 * is in the body, so a repeat registers the same event once.
 */
export class HttpEventRegistry implements EventRegistry {
  readonly partner: Partner;

  constructor(url: string, config: Config, logger: Logger) {
    this.partner = new Partner({
      name: 'event-registry',
      baseUrl: url,
      config,
      logger,
      attemptTimeoutMs: config.EVENT_REGISTRY_TIMEOUT_MS,
      retryMethods: ['POST'],
    });
  }

  async register(event: RegisteredEvent): Promise<void> {
    const { id, name, userId, startsAt } = event;
    try {
      await this.partner.request({ method: 'POST', path: '/events', json: { id, name, userId, startsAt: startsAt.toISOString() } });
    } catch (error) {
      const status = statusOf(error);
      if (status === 409) throw new ConflictError(`the event registry already has event ${id} with other data`);
      if (isClientError(error)) throw new InvalidInputError('input', `the event registry refused the event (HTTP ${status})`);
      // Failed, timed out, or rejected by the open breaker: fail fast and say when to come back.
      throw this.partner.breaker.unavailable('the event registry is unavailable; the event was not created');
    }
  }

  /** Stops the breaker's timers and closes the connections. Safe to call twice. */
  close(): Promise<void> {
    return this.partner.close();
  }
}

/** The configured event registry, or undefined when EVENT_REGISTRY_URL is empty (registration off). */
export function createEventRegistry(config: Config, logger: Logger): HttpEventRegistry | undefined {
  return config.EVENT_REGISTRY_URL ? new HttpEventRegistry(config.EVENT_REGISTRY_URL, config, logger) : undefined;
}
