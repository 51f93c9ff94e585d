/**
 * The workers process's settings: the base ones (common/config.ts), the
 * workers' own, where inventory is (its module names its settings) and the
 * backup schedules' (it runs them under npm start and compose).
 */
import { z } from 'zod';
import { defineSettings, delays, local, ms, port, subgraphPortSetting, subgraphUrlSetting, type ConfigOf } from '../common/config.ts';
import inventory from '../subgraphs/inventory/module.ts';
import { backupGroup, deriveBackup } from './backup/settings.ts';

export const workersSettings = defineSettings(
  'workers',
  {
    WORKERS_PORT: port(4020).describe("Port of the workers' /health, /ready, /metrics, Bull Board (/admin/queues) and /admin/backups."),
    INVENTORY_PORT: subgraphPortSetting(inventory.name, inventory.urlSetting, inventory.defaultPort),
    INVENTORY_URL: subgraphUrlSetting(inventory.name, inventory.portSetting),
    NOTIFY_URL: z.url().optional().describe('The notification provider (POST /messages with Idempotency-Key); default the simulated one on EXTERNAL_PORT.'),
    NOTIFY_RETRY_DELAYS_MS: delays('1000,5000,30000').describe(
      "Notification delivery: the delay before each retry (3 retries by default), then the job stays in BullMQ's failed set and the notification FAILED.",
    ),
    NOTIFY_RECOVERY_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(300000)
      .describe(
        'A notification QUEUED or RETRYING this long has its delivery job checked (queued again if Redis lost it, FAILED if it failed for good), and an event announced this long ago (up to a day) with no notification has its job checked; also how often that runs.',
      ),
    ORDER_RETRY_DELAYS_MS: delays('5000,5000,5000').describe(
      'Order processing: the delay before each retry of a timeout, 5xx or connection error from inventory; then the order is FAILED(INVENTORY_UNAVAILABLE).',
    ),
    ORDER_CONCURRENCY: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(20)
      .describe('Orders a worker process handles at once (the jobs mostly wait on inventory and PostgreSQL).'),
    ORDER_RECOVERY_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(300000)
      .describe('An order PENDING or PROCESSING this long has its job checked (queued again if Redis lost it); also how often that runs.'),
    INVENTORY_TIMEOUT_MS: ms(3000).describe('Timeout of each call from the order worker to the inventory subgraph.'),
    INVENTORY_BATCH_WINDOW_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(2)
      .describe('How long the order worker holds a reservation for others to share its request to inventory (0: those of the same tick).'),
    INVENTORY_BATCH_MAX: z.coerce
      .number()
      .int()
      .min(1)
      .max(100)
      .default(20)
      .describe('Most reservations in one request from the order worker to inventory (1: one request per order).'),
    OUTBOX_POLL_MS: ms(500).describe('How often the outbox relay looks for unpublished rows.'),
    ...backupGroup,
  },
  {
    derive: (env) => ({
      ...deriveBackup(env),
      INVENTORY_URL: env.INVENTORY_URL ?? `${local(env.INVENTORY_PORT)}/graphql`,
      NOTIFY_URL: env.NOTIFY_URL ?? local(env.EXTERNAL_PORT),
    }),
  },
);

export type WorkersConfig = ConfigOf<typeof workersSettings>;
