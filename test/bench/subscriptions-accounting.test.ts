import { describe, expect, it } from 'vitest';
import { account, changeKey } from '../../bench/subscriptions.ts';

describe('the subscriptions bench accounting', () => {
  const expected = new Map([
    ['alice', new Set([changeKey('o1', 'PENDING'), changeKey('o1', 'CANCELLED')])],
    ['bob', new Set<string>()],
  ]);

  it('counts every expected change once per subscription of its user', () => {
    const received = new Map([
      [changeKey('o1', 'PENDING'), 1],
      [changeKey('o1', 'CANCELLED'), 1],
    ]);
    expect(
      account(expected, [
        { user: 'alice', received },
        { user: 'alice', received },
        { user: 'bob', received: new Map() },
      ]),
    ).toEqual({
      expected: 4,
      delivered: 4,
      lost: 0,
      duplicates: 0,
      unexpected: 0,
    });
  });

  it('tells lost, repeated and foreign deliveries apart', () => {
    const subscriptions = [
      { user: 'alice', received: new Map([[changeKey('o1', 'PENDING'), 3]]) },
      { user: 'bob', received: new Map([[changeKey('o1', 'PENDING'), 1]]) },
      { user: 'carol', received: new Map<string, number>() },
    ];
    expect(account(expected, subscriptions)).toEqual({ expected: 2, delivered: 1, lost: 1, duplicates: 2, unexpected: 1 });
  });
});
