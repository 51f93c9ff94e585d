import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { settingsSources } from '../../scripts/docs-config-sources.ts';
import { CONFIGURATION_PAGE, configurationPage, settingRows, type SettingsSource } from '../../scripts/docs-config.ts';

describe('docs/operations/configuration.md', () => {
  it('is the page the settings schemas make (run `npm run docs:config` and commit it)', async () => {
    const committed = readFileSync(CONFIGURATION_PAGE, 'utf8');
    expect(committed === configurationPage(await settingsSources()), 'docs/operations/configuration.md is stale: run npm run docs:config').toBe(true);
  });

  it('has a row for every setting of every source', async () => {
    const page = readFileSync(CONFIGURATION_PAGE, 'utf8');
    for (const source of await settingsSources()) {
      for (const variable of Object.keys(source.schema.shape)) expect(page).toContain(`| \`${variable}\` |`);
    }
  });
});

describe('the configuration page generator', () => {
  /** Two processes sharing PORT_A with different descriptions, and settings of each kind of default. */
  const schemaOf = (description: string) =>
    z.object({
      PORT_A: z.coerce.number().default(4000).describe(description),
      DELAYS_MS: z
        .string()
        .default('1,2')
        .transform((value) => value.split(',').map(Number))
        .describe('Delays | pipes escaped.'),
      TARGET_URL: z.url().optional().describe('Derived from PORT_A.'),
      SECRET: z.string().optional().describe('Generated when unset.'),
      PROXY: z.string().default('').describe('Empty by default.'),
      OFF: z.string().optional().describe('Unset by default.'),
    });
  const sourceOf = (name: string, description: string): SettingsSource => {
    const schema = schemaOf(description);
    return {
      name,
      schema,
      parse: (env) => {
        const settings = schema.parse(env);
        return { ...settings, TARGET_URL: settings.TARGET_URL ?? `http://127.0.0.1:${settings.PORT_A}`, SECRET: settings.SECRET ?? Math.random().toString(36) };
      },
    };
  };

  it('shows declared, derived, generated, empty and unset defaults, and who reads each setting', () => {
    const rows = settingRows([sourceOf('gateway', 'Port A.'), sourceOf('workers', 'Port A, as the workers see it.')]);
    expect(rows.map((row) => row.variable)).toEqual(['DELAYS_MS', 'OFF', 'PORT_A', 'PROXY', 'SECRET', 'TARGET_URL']);
    const by = Object.fromEntries(rows.map((row) => [row.variable, row]));
    expect(by.DELAYS_MS!.default).toBe('`1,2`');
    expect(by.TARGET_URL!.default).toBe('`http://127.0.0.1:4000`');
    expect(by.SECRET!.default).toBe('generated at start');
    expect(by.PROXY!.default).toBe('empty');
    expect(by.OFF!.default).toBe('unset');
    expect(by.PORT_A!.readBy).toEqual(['gateway', 'workers']);
    expect(by.PORT_A!.description).toBe('Port A. (gateway)<br>Port A, as the workers see it. (workers)');
    expect(by.OFF!.description).toBe('Unset by default.');
  });

  it('escapes table cells and refuses a setting with no description', () => {
    expect(configurationPage([sourceOf('gateway', 'Port A.')])).toContain('| `DELAYS_MS` | `1,2` | gateway | Delays \\| pipes escaped. |');
    const undescribed: SettingsSource = { name: 'gateway', schema: z.object({ BARE: z.string().default('x') }), parse: (env) => ({ BARE: env.BARE ?? 'x' }) };
    expect(() => settingRows([undescribed])).toThrow('gateway: setting BARE has no description');
  });
});
