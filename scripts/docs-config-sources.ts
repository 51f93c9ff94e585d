/**
 * The settings schemas the configuration page is written from. Today one
 * schema, common/config.ts's, holds every setting and every process reads and
 * checks all of it; when each process declares its own, list each here.
 */
import { configObjectSchema, parseConfig } from '../common/config.ts';
import type { z } from 'zod';

/** One process's (or command's) settings: a zod object whose every setting has a description. */
export interface SettingsSource {
  /** The process or command, as the page names it in "read by". */
  name: string;
  schema: z.ZodObject;
  /** The settings from `env`, with the defaults derived from other settings (URLs from ports, generated keys). */
  parse(env: Record<string, string | undefined>): Record<string, unknown>;
}

export function settingsSources(): Promise<SettingsSource[]> {
  return Promise.resolve([{ name: 'every process (common/config.ts)', schema: configObjectSchema, parse: (env) => parseConfig(env) }]);
}
