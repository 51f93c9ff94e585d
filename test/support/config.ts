import { expect } from 'vitest';
import { ConfigError, parseConfig } from '../../common/config.ts';

/** parseConfig refuses `variable=value` with a ConfigError whose one line names the variable. */
export function expectConfigRefuses(variable: string, value: string): void {
  expect(() => parseConfig({ [variable]: value })).toThrow(ConfigError);
  expect(() => parseConfig({ [variable]: value })).toThrow(new RegExp(`^invalid configuration: ${variable}=`));
}
