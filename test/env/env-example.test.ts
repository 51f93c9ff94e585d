import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../scripts/settings.ts';

const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
// A value with spaces is quoted, so the file can be sourced by a shell; the shell, docker compose and dotenv all drop the quotes.
const unquote = (value: string) => (/^(["']).*\1$/.test(value) ? value.slice(1, -1) : value);
const entries = [...text.matchAll(/^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map(([, commented, name, value]) => ({
  commented: Boolean(commented),
  name: name!,
  value: unquote(value!),
}));
const defaults = parseConfig({}) as unknown as Record<string, unknown>;

describe('.env.example', () => {
  it('lists every variable of common/config.ts', () => {
    const variables = Object.keys(defaults).filter((key) => /^[A-Z][A-Z0-9_]*$/.test(key));
    expect(variables.filter((name) => !entries.some((e) => e.name === name))).toEqual([]);
  });

  it('shows each variable with its real default', () => {
    for (const { name, value } of entries.filter((e) => e.value !== '')) {
      expect({ name, value: (parseConfig({ [name]: value }) as unknown as Record<string, unknown>)[name] }).toEqual({ name, value: defaults[name] });
    }
  });

  it('names only variables that exist', () => {
    expect(entries.map((e) => e.name).filter((name) => !(name in defaults))).toEqual([]);
  });
});
