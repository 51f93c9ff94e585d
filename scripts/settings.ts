/**
 * The settings of the commands (the launcher, migrations), and of every
 * process at once: `npm start` runs them all, so it reads and checks every
 * process's settings (each process checks only its own), and the tests build
 * a stack from them.
 */
import { ConfigError, defineSettings, ms, orExit, port, type Env, type Settings } from '../common/config.ts';
import { databaseUrlSettings } from '../common/databases.ts';
import { externalSettings } from '../external/settings.ts';
import { gatewaySettings } from '../gateway/settings.ts';
import { eventsSettings } from '../subgraphs/events/settings.ts';
import { inventorySettings } from '../subgraphs/inventory/settings.ts';
import { notificationsSettings } from '../subgraphs/notifications/settings.ts';
import { ordersSettings } from '../subgraphs/orders/settings.ts';
import { SUBGRAPHS } from '../subgraphs/index.ts';
import { usersSettings } from '../subgraphs/users/settings.ts';
import { backupSettings } from '../workers/backup/settings.ts';
import { workersSettings } from '../workers/settings.ts';

export { ConfigError };

/** `npm start` (scripts/start.ts): every process's settings, and the example web app's port. */
export const launcherSettings = defineSettings('launcher', {
  WEB_PORT: port(4030).describe(
    'Port of the example web app (examples/web/serve.js, its own origin) under `npm run example:web`; the gateway lists it in CORS_ORIGINS there.',
  ),
});

/** `npm run db:migrate` (scripts/migrate.ts). */
export const migrateSettings = defineSettings('migrate', {
  // Every subgraph's own database: each distinct database is migrated.
  ...databaseUrlSettings(SUBGRAPHS.map((s) => s.name)),
  MIGRATE_WAIT_TIMEOUT_MS: ms(600000).describe(
    'How long `npm run db:migrate -- --wait` (the Kubernetes init container) waits for the migrations before it fails.',
  ),
});

/** Every process's and command's settings, in the order the catalog starts them. */
export const SETTINGS: readonly Settings<object>[] = [
  externalSettings,
  usersSettings,
  eventsSettings,
  inventorySettings,
  ordersSettings,
  notificationsSettings,
  workersSettings,
  gatewaySettings,
  backupSettings,
  launcherSettings,
  migrateSettings,
];

/** Every setting of every process (each checked as its process checks it); throws ConfigError naming the first bad variable. */
export function parseConfig(env: Env = process.env) {
  return {
    ...externalSettings.parse(env),
    ...usersSettings.parse(env),
    ...eventsSettings.parse(env),
    ...inventorySettings.parse(env),
    ...ordersSettings.parse(env),
    ...notificationsSettings.parse(env),
    ...workersSettings.parse(env),
    ...gatewaySettings.parse(env),
    ...backupSettings.parse(env),
    ...launcherSettings.parse(env),
    ...migrateSettings.parse(env),
  };
}

export type Config = ReturnType<typeof parseConfig>;

let cached: Config | undefined;

/** Every setting of every process, from process.env; a bad variable stops the launcher with one line naming it. */
export function loadConfig(): Config {
  cached ??= orExit(() => parseConfig(process.env));
  return cached;
}
