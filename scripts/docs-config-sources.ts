/**
 * The settings schemas the configuration page is written from: each process's
 * and command's own (scripts/settings.ts lists them), each checked by its
 * process alone.
 */
import type { z } from 'zod';
import { SETTINGS } from './settings.ts';

/** One process's (or command's) settings: a zod object whose every setting has a description. */
export interface SettingsSource {
  /** The process or command, as the page names it in "read by". */
  name: string;
  schema: z.ZodObject;
  /** The settings from `env`, with the defaults derived from other settings (URLs from ports, generated keys). */
  parse(env: Record<string, string | undefined>): Record<string, unknown>;
}

export function settingsSources(): Promise<SettingsSource[]> {
  return Promise.resolve(SETTINGS.map((s) => ({ name: s.name, schema: s.schema, parse: (env) => Object.fromEntries(Object.entries(s.parse(env))) })));
}
