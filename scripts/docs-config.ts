/**
 * `npm run docs:config`: writes docs/operations/configuration.md, the table of
 * every setting (variable, default, which processes read it, what it does),
 * from the settings schemas themselves, so the page cannot drift from the code.
 *
 *   npm run docs:config              writes the page
 *   npm run docs:config -- --check   exits 1 when the committed page is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { settingsSources, type SettingsSource } from './docs-config-sources.ts';

export type { SettingsSource };

export const CONFIGURATION_PAGE = fileURLToPath(new URL('../docs/operations/configuration.md', import.meta.url));

export interface SettingRow {
  variable: string;
  /** Markdown: the default, or each default with the processes it is theirs when they differ. */
  default: string;
  readBy: string[];
  /** Markdown: what it does, or each description with its processes when they differ. */
  description: string;
}

/** What a zod schema defaults to when the variable is unset, looking through optional, pipes and transforms. */
function declaredDefault(schema: z.ZodType): { value: unknown } | undefined {
  const def = (schema as unknown as { _zod: { def: { type: string; defaultValue?: unknown; innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
  if (def.type === 'default') return { value: def.defaultValue };
  if (def.type === 'pipe' && def.in) return declaredDefault(def.in);
  if ((def.type === 'optional' || def.type === 'nullable') && def.innerType) return declaredDefault(def.innerType);
  return undefined;
}

const code = (text: string) => `\`${text}\``;

function shown(value: unknown): string {
  if (value === undefined || value === null) return 'unset';
  if (value === '') return 'empty';
  if (Array.isArray(value)) return code(value.join(','));
  return code(String(value));
}

/** The default of `variable` in `source`: declared in the schema, else derived by parse (twice: a value that changes is generated). */
function defaultIn(source: SettingsSource, variable: string, parsed: [Record<string, unknown>, Record<string, unknown>]): string {
  const declared = declaredDefault(source.schema.shape[variable] as z.ZodType);
  if (declared) return shown(declared.value);
  const [first, second] = parsed;
  if (JSON.stringify(first[variable]) !== JSON.stringify(second[variable])) return 'generated at start';
  return shown(first[variable]);
}

/** "a (users, events); b (workers)" when processes differ, else "a". */
function merged(byProcess: readonly { process: string; text: string }[]): string {
  const texts = [...new Set(byProcess.map((entry) => entry.text))];
  if (texts.length === 1) return texts[0]!;
  return texts
    .map(
      (text) =>
        `${text} (${byProcess
          .filter((entry) => entry.text === text)
          .map((entry) => entry.process)
          .join(', ')})`,
    )
    .join('<br>');
}

/** Every setting of every source, by variable name. Throws when a setting has no description. */
export function settingRows(sources: readonly SettingsSource[]): SettingRow[] {
  const found = new Map<string, { defaults: { process: string; text: string }[]; descriptions: { process: string; text: string }[] }>();
  for (const source of sources) {
    const parsed: [Record<string, unknown>, Record<string, unknown>] = [source.parse({}), source.parse({})];
    for (const [variable, schema] of Object.entries(source.schema.shape)) {
      const description = (schema as z.ZodType).description?.trim();
      if (!description) throw new Error(`${source.name}: setting ${variable} has no description (.describe() it where it is declared)`);
      const entry = found.get(variable) ?? { defaults: [], descriptions: [] };
      entry.defaults.push({ process: source.name, text: defaultIn(source, variable, parsed) });
      entry.descriptions.push({ process: source.name, text: description });
      found.set(variable, entry);
    }
  }
  return [...found.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([variable, { defaults, descriptions }]) => ({
      variable,
      default: merged(defaults),
      readBy: descriptions.map((entry) => entry.process),
      description: merged(descriptions),
    }));
}

const cell = (text: string) => text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');

/** The whole page. */
export function configurationPage(sources: readonly SettingsSource[]): string {
  // A setting every source reads (the base ones of common/config.ts) is read by "every process".
  const readBy = (row: SettingRow) => (sources.length > 1 && row.readBy.length === sources.length ? 'every process' : row.readBy.join(', '));
  const rows = settingRows(sources).map((row) => `| ${code(row.variable)} | ${cell(row.default)} | ${cell(readBy(row))} | ${cell(row.description)} |`);
  return [
    '# Configuration',
    '',
    '<!-- Written by `npm run docs:config` from the settings schemas; edit the schemas, not this page (a test fails when it is stale). -->',
    '',
    'Every setting is an environment variable with a working local default;',
    '[.env.example](../../.env.example) lists them all with comments. Each process',
    'reads and checks only its own settings, at start: a bad value stops the',
    'processes under "read by" with one line naming the variable (`invalid',
    'configuration: X=…`), and no other (`npm start`, which runs them all, checks',
    "every process's). The settings every process reads are declared in",
    '`common/config.ts`; the others where their process starts: `gateway/settings.ts`,',
    '`subgraphs/<name>/settings.ts`, `workers/settings.ts`, `workers/backup/settings.ts`',
    '(the backup process and `npm run backup`), `external/settings.ts`, and',
    '`scripts/settings.ts` (the launcher and the migrations).',
    '',
    'More on some of them: the forms of `REDIS_URL` in [redis-ha.md](redis-ha.md),',
    'the `AUTH_*` settings for real identity providers in',
    '[signing-in.md](../api/signing-in.md#with-a-real-identity-provider), the',
    'query limits and the rate limit in [limits.md](../api/limits.md), the',
    '`BACKUP_*` settings in [backups.md](backups.md), a database per subgraph',
    '(`USERS_DATABASE_URL`, …) in [databases.md](databases.md), what to set in',
    'production in [production.md](production.md).',
    '',
    '| variable | default | read by | what it does |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const page = configurationPage(await settingsSources());
  const where = 'docs/operations/configuration.md';
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(CONFIGURATION_PAGE, 'utf8');
    } catch {
      // Missing: stale.
    }
    if (committed !== page) {
      console.error(`${where} is stale: run npm run docs:config and commit it`);
      process.exit(1);
    }
    console.log(`${where} is current`);
  } else {
    writeFileSync(CONFIGURATION_PAGE, page);
    console.log(`wrote ${where}`);
  }
}
