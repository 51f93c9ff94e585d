import { expect } from 'vitest';
import { ConfigError, parseConfig } from '../../scripts/settings.ts';

/** parseConfig refuses `variable=value` (with the other settings of `env`) with a ConfigError whose one line names the variable, and says `message` when given. */
export function expectConfigRefuses(variable: string, value: string, env: Record<string, string> = {}, message?: RegExp): void {
  const parse = () => parseConfig({ ...env, [variable]: value });
  expect(parse).toThrow(ConfigError);
  expect(parse).toThrow(new RegExp(`^invalid configuration: ${variable}=`));
  if (message) expect(parse).toThrow(message);
}
