import { UnrecoverableError } from 'bullmq';
import type { WorkersConfig as Config } from '../settings.ts';
import type { Logger } from '../../common/logger.ts';
import { isOpenBreakerError, type BreakerConfig } from '../../common/breaker.ts';
import { isClientError, Partner, statusOf } from '../../common/partner.ts';
import type { NotificationRow } from '../../subgraphs/notifications/module.ts';

/** How long one POST /messages may take before the attempt counts as failed. */
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;

export interface NotifyProviderOptions {
  config: Pick<Config, 'NOTIFY_URL'> & BreakerConfig;
  logger: Logger;
  /** Default DEFAULT_SEND_TIMEOUT_MS. */
  timeoutMs?: number;
}

/**
 * The external notification provider: `POST ${NOTIFY_URL}/messages` with
 * `Idempotency-Key: <eventId>`, so a repeat of an attempt whose answer was
 * lost (a timeout, a worker killed mid-call) is delivered once. One attempt
 * per call: BullMQ schedules the retries.
 */
export class NotifyProvider {
  private readonly partner: Partner;

  constructor(options: NotifyProviderOptions) {
    this.partner = new Partner({
      name: 'notify',
      baseUrl: options.config.NOTIFY_URL,
      config: options.config,
      logger: options.logger,
      attemptTimeoutMs: options.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS,
      retryDelaysMs: [],
    });
  }

  /** The provider's breaker: while it admits no call, the delivery queue is paused (workers/pause.ts). */
  get breaker() {
    return this.partner.breaker;
  }

  /**
   * Resolves once the provider accepted the notification; a refusal no retry
   * can fix throws UnrecoverableError; an open breaker rejects with opossum's
   * EOPENBREAKER error as it is (no call was made).
   */
  async send(notification: NotificationRow): Promise<void> {
    try {
      await this.partner.request({
        method: 'POST',
        path: '/messages',
        headers: { 'idempotency-key': notification.eventId },
        json: {
          eventId: notification.eventId,
          type: notification.type,
          userId: notification.userId,
          occurredAt: notification.occurredAt.toISOString(),
          payload: notification.payload,
        },
      });
    } catch (error) {
      if (isOpenBreakerError(error)) throw error;
      const status = statusOf(error);
      const reason = status === undefined ? (error as Error).message : `provider answered ${status}`;
      // A 4xx other than 408/429 says the request itself is wrong: sending it again cannot help.
      if (isClientError(error)) throw new UnrecoverableError(`${reason} (not retried)`);
      throw new Error(reason);
    }
  }

  /** Stops the breaker's timers and closes the connections. Safe to call twice. */
  close(): Promise<void> {
    return this.partner.close();
  }
}
