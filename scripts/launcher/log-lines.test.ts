import { describe, expect, it } from 'vitest';
import { createPrefixer, readableLines } from './log-lines.ts';

describe('launcher log lines', () => {
  it('pads every service name to the longest, and colours only when asked', () => {
    const plain = createPrefixer(['start', 'notifications'], false);
    expect(plain.prefix('start', 'hello')).toBe('start         | hello');
    const coloured = createPrefixer(['start', 'users'], true);
    expect(coloured.prefix('users', 'hi')).toBe('\x1b[32musers\x1b[0m | hi');
  });

  it('renders a pino line as time, level, message and fields; an error with its stack', () => {
    const line = JSON.stringify({
      level: 50,
      time: Date.UTC(2026, 10, 21, 10, 0, 0, 5),
      pid: 1,
      hostname: 'h',
      service: 'users',
      name: 'users',
      msg: 'enrichment failed',
      userId: 'u1',
      detail: 'two words',
      err: { type: 'HTTPError', message: 'boom', stack: 'HTTPError: boom\n    at x (y.ts:1:1)' },
    });
    expect(readableLines(line)).toEqual(['10:00:00.005 ERROR enrichment failed userId=u1 detail="two words" err="HTTPError: boom"', '    at x (y.ts:1:1)']);
  });

  it('leaves other lines as they are', () => {
    expect(readableLines('plain text')).toEqual(['plain text']);
    expect(readableLines('{not json')).toEqual(['{not json']);
    expect(readableLines('{"a":1}')).toEqual(['{"a":1}']);
  });
});
