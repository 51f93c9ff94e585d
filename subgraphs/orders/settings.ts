/** The orders subgraph's settings: the base ones (common/config.ts), its port and its subscriptions. */
import { z } from 'zod';
import { type ConfigOf, defineSettings, heartbeatSetting, subgraphPortSetting, subscriptionQueueSetting } from '../../common/config.ts';
import { databaseUrlSettings } from '../../common/databases.ts';

export const ordersSettings = defineSettings('orders', {
  ORDERS_PORT: subgraphPortSetting('orders', 'ORDERS_URL', 4003),
  ...databaseUrlSettings(['orders']),
  ...heartbeatSetting,
  SUBSCRIPTION_REPLAY_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .default(24)
    .describe('Subscriptions: how far back orderUpdates(after:) replays; an older cursor is BAD_USER_INPUT.'),
  ...subscriptionQueueSetting,
});

export type OrdersConfig = ConfigOf<typeof ordersSettings>;
