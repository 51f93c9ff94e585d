/** The notifications subgraph's settings: the base ones (common/config.ts), its port, the key ingestEvent takes and the delivery retries. */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { type ConfigOf, defineSettings, delays, heartbeatSetting, subgraphPortSetting } from '../../common/config.ts';
import { databaseUrlSettings } from '../../common/databases.ts';

export const notificationsSettings = defineSettings(
  'notifications',
  {
    NOTIFICATIONS_PORT: subgraphPortSetting('notifications', 'NOTIFICATIONS_URL', 4005),
    ...databaseUrlSettings(['notifications']),
    ...heartbeatSetting,
    INGEST_API_KEY: z
      .string()
      .min(8)
      .optional()
      .describe('The key ingestEvent requires (X-API-Key), 8+ characters; unset, a development key is generated at start and printed by `npm start`.'),
    NOTIFY_RETRY_DELAYS_MS: delays('1000,5000,30000').describe(
      "Notification delivery: the delay before each retry (3 retries by default), then the job stays in BullMQ's failed set and the notification FAILED.",
    ),
  },
  {
    derive: (env) => ({ ingestKeyGenerated: env.INGEST_API_KEY === undefined, INGEST_API_KEY: env.INGEST_API_KEY ?? `dev-${randomBytes(12).toString('hex')}` }),
  },
);

export type NotificationsConfig = ConfigOf<typeof notificationsSettings>;
