import { describe, expect, it } from 'vitest';
import { hashTagOf, parseRedisUrl, RedisUrlError, type RedisTarget } from '../redis-url.ts';

describe('REDIS_URL forms', () => {
  it.each<[string, string, RedisTarget]>([
    ['redis:// as it is, for ioredis', 'redis://127.0.0.1:6379', { kind: 'standalone', url: 'redis://127.0.0.1:6379' }],
    ['rediss:// as it is, for ioredis', 'rediss://:secret@cache.example.com:6380/2', { kind: 'standalone', url: 'rediss://:secret@cache.example.com:6380/2' }],
    [
      'redis+sentinel:// as the Sentinels (26379 by default), the master name and db 0',
      'redis+sentinel://s1:26380,s2,[::1]:26381/mymaster',
      {
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26380 },
          { host: 's2', port: 26379 },
          { host: '::1', port: 26381 },
        ],
        masterName: 'mymaster',
        db: 0,
      },
    ],
    [
      'redis+sentinel:// with the db and both sets of credentials, decoded',
      'redis+sentinel://app:p%40ss%2Fw@s1:26379/mymaster/3?sentinelPassword=s%26cret&sentinelUsername=watch',
      {
        kind: 'sentinel',
        sentinels: [{ host: 's1', port: 26379 }],
        masterName: 'mymaster',
        db: 3,
        username: 'app',
        password: 'p@ss/w',
        sentinelUsername: 'watch',
        sentinelPassword: 's&cret',
      },
    ],
    [
      'redis+cluster:// as the startup nodes (6379 by default) and the credentials',
      'redis+cluster://:pw@10.0.0.1:7000,10.0.0.2',
      {
        kind: 'cluster',
        nodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: '10.0.0.2', port: 6379 },
        ],
        password: 'pw',
      },
    ],
  ])('reads %s', (_, url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it('reads a Sentinel URL with only a password as no username', () => {
    expect(parseRedisUrl('redis+sentinel://:only-a-password@s1/mymaster')).toMatchObject({ password: 'only-a-password' });
    expect(parseRedisUrl('redis+sentinel://:only-a-password@s1/mymaster')).not.toHaveProperty('username');
  });

  it.each([
    ['http://127.0.0.1:6379', /expected redis:\/\//],
    ['127.0.0.1:6379', /expected redis:\/\//],
    ['redis://a b:6379', /not a URL/],
    ['redis+sentinel://s1:26379', /names no master/],
    ['redis+sentinel://s1:26379/', /names no master/],
    ['redis+sentinel:///mymaster', /names no host/],
    ['redis+sentinel://s1:26379/mymaster/zero', /db a number/],
    ['redis+sentinel://s1:26379/mymaster/0/extra', /\/<master name>\[\/db\]/],
    ['redis+sentinel://s1:26379/mymaster?password=x', /unknown option "password"/],
    ['redis+sentinel://s1:99999/mymaster', /"s1:99999" is not host\[:port\]/],
    ['redis+cluster://n1:7000,,n2:7001', /"" is not host\[:port\]/],
    ['redis+cluster://n1:7000/1', /no databases/],
    ['redis+cluster://n1:7000?tls=true', /takes no options/],
    ['rediss+cluster://n1:7000', /TLS to a Sentinel or a Cluster is not supported/],
    ['redis+sentinel://s1/mymaster#x', /fragment/],
  ])('refuses %s', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });
});

describe('hashTagOf (Redis Cluster: the part of a key between the first { and the next } decides its slot)', () => {
  it.each([
    ['{junction}', 'junction'],
    ['jt-{a}-x', 'a'],
    ['{a}{b}', 'a'],
    ['{a{b}', 'a{b'],
  ])('%s has the tag %s', (prefix, tag) => {
    expect(hashTagOf(prefix)).toBe(tag);
  });

  it.each(['junction', '{}', '{}{junction}', '{junction', 'junction}'])('%s has none', (prefix) => {
    expect(hashTagOf(prefix)).toBeUndefined();
  });
});
