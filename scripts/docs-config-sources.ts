/**
 * The settings schemas the configuration page is written from. Today one
 * schema, common/config.ts's, holds every setting and every process reads and
 * checks all of it; when each process declares its own, list each here.
 */
import { configObjectSchema, parseConfig } from '../common/config.ts';
import type { SettingsSource } from './docs-config.ts';

export function settingsSources(): Promise<SettingsSource[]> {
  return Promise.resolve([{ name: 'every process (common/config.ts)', schema: configObjectSchema, parse: (env) => parseConfig(env) }]);
}
