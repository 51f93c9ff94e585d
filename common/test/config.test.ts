import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { parseConfig } from '../../scripts/settings.ts';
import { expectConfigRefuses } from '../../test/support/config.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('configuration', () => {
  it('has a working local default for everything, the documented defaults included', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/junction',
      REDIS_URL: 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: 'junction',
      USERS_URL: 'http://127.0.0.1:4001/graphql',
      NOTIFICATIONS_URL: 'http://127.0.0.1:4005/graphql',
      ENRICHMENT_URL: 'http://127.0.0.1:4010',
      NOTIFY_RETRY_DELAYS_MS: [1000, 5000, 30000],
      ORDER_RETRY_DELAYS_MS: [5000, 5000, 5000],
      INVENTORY_TIMEOUT_MS: 3000,
      BREAKER_ERROR_THRESHOLD_PERCENT: 50,
      BREAKER_VOLUME_THRESHOLD: 5,
      BREAKER_RESET_TIMEOUT_MS: 10000,
      BREAKER_MAX_RESET_TIMEOUT_MS: 60000,
      production: false,
    });
    expect(config.INGEST_API_KEY.length).toBeGreaterThanOrEqual(8);
    expect(config.ingestKeyGenerated).toBe(true);
  });

  it('derives URLs from ports, and an empty EVENT_REGISTRY_URL turns registration off', () => {
    const config = parseConfig({ USERS_PORT: '5001', EXTERNAL_PORT: '5010', EVENT_REGISTRY_URL: '' });
    expect(config.USERS_URL).toBe('http://127.0.0.1:5001/graphql');
    expect(config.NOTIFY_URL).toBe('http://127.0.0.1:5010');
    expect(config.EVENT_REGISTRY_URL).toBe('');
  });

  it("takes each subgraph's port and URL setting from its module, the URL defaulting to that port", () => {
    const defaults = parseConfig({}) as unknown as Record<string, unknown>;
    const moved = parseConfig(Object.fromEntries(SUBGRAPHS.map((s, i) => [s.portSetting, String(6000 + i)]))) as unknown as Record<string, unknown>;
    const given = parseConfig(Object.fromEntries(SUBGRAPHS.map((s) => [s.urlSetting, `http://${s.name}.internal:80/graphql`]))) as unknown as Record<
      string,
      unknown
    >;
    SUBGRAPHS.forEach((s, i) => {
      expect(defaults[s.portSetting]).toBe(s.defaultPort);
      expect(defaults[s.urlSetting]).toBe(`http://127.0.0.1:${s.defaultPort}/graphql`);
      expect(moved[s.urlSetting]).toBe(`http://127.0.0.1:${6000 + i}/graphql`);
      expect(given[s.urlSetting]).toBe(`http://${s.name}.internal:80/graphql`);
      expect(() => parseConfig({ [s.urlSetting]: 'not a url' })).toThrow(new RegExp(`^invalid configuration: ${s.urlSetting}=`));
      expect(() => parseConfig({ [s.portSetting]: '70000' })).toThrow(new RegExp(`^invalid configuration: ${s.portSetting}=`));
    });
  });

  it.each([
    ['USERS_PORT', 'abc'],
    ['DATABASE_URL', 'not a url'],
    ['NOTIFY_RETRY_DELAYS_MS', '1000,,5000'],
    ['ORDER_RETRY_DELAYS_MS', '-5'],
    ['NODE_ENV', 'staging'],
    ['INGEST_API_KEY', 'short'],
    ['REDIS_URL', 'not a url'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_URL', 'redis+sentinel://127.0.0.1:26379'],
    ['REDIS_URL', 'redis+cluster://127.0.0.1:7000/2'],
  ])('rejects %s=%j with an error naming the variable', (variable, value) => {
    expectConfigRefuses(variable, value);
  });

  it('caps the backed-off breaker wait at BREAKER_MAX_RESET_TIMEOUT_MS, never below BREAKER_RESET_TIMEOUT_MS', () => {
    expect(parseConfig({ BREAKER_MAX_RESET_TIMEOUT_MS: '120000' }).BREAKER_MAX_RESET_TIMEOUT_MS).toBe(120000);
    // Unset, the cap is 60 s, or the reset timeout itself when that is longer (no backoff then).
    expect(parseConfig({ BREAKER_RESET_TIMEOUT_MS: '3600000' }).BREAKER_MAX_RESET_TIMEOUT_MS).toBe(3600000);
    expectConfigRefuses('BREAKER_MAX_RESET_TIMEOUT_MS', '5000', { BREAKER_RESET_TIMEOUT_MS: '10000' }, /at least BREAKER_RESET_TIMEOUT_MS \(10000\)/);
    expectConfigRefuses('BREAKER_MAX_RESET_TIMEOUT_MS', 'soon');
  });

  it('takes a REDIS_URL naming Sentinels or Cluster nodes, several hosts in one URL', () => {
    expect(parseConfig({ REDIS_URL: 'redis+sentinel://:pw@s1:26379,s2:26379/mymaster/1' }).REDIS_URL).toBe('redis+sentinel://:pw@s1:26379,s2:26379/mymaster/1');
    expect(parseConfig({ REDIS_URL: 'redis+cluster://n1:7000,n2:7001', QUEUE_PREFIX: '{junction}' }).QUEUE_PREFIX).toBe('{junction}');
  });

  it.each(['junction', 'jt-{}', 'junction}'])('refuses a Redis Cluster URL with QUEUE_PREFIX=%j (no hash tag), naming both settings', (prefix) => {
    expectConfigRefuses(
      'QUEUE_PREFIX',
      prefix,
      { REDIS_URL: 'redis+cluster://n1:7000,n2:7001' },
      /REDIS_URL is a Redis Cluster .*QUEUE_PREFIX needs a hash tag, e\.g\. \{/,
    );
  });

  it('stops a service at start with one line naming the bad variable', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'subgraphs/users/index.ts'], {
      cwd: ROOT,
      env: { ...process.env, USERS_PORT: 'not-a-port' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^invalid configuration: USERS_PORT="not-a-port"/);
  });
});
