/** The inventory subgraph's settings: the base ones (common/config.ts), its port. */
import { type ConfigOf, defineSettings, heartbeatSetting, subgraphPortSetting } from '../../common/config.ts';
import { databaseUrlSettings } from '../../common/databases.ts';

export const inventorySettings = defineSettings('inventory', {
  INVENTORY_PORT: subgraphPortSetting('inventory', 'INVENTORY_URL', 4004),
  ...databaseUrlSettings(['inventory']),
  ...heartbeatSetting,
});

export type InventoryConfig = ConfigOf<typeof inventorySettings>;
