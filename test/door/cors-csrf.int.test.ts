import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../scripts/settings.ts';
import { listen } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { createGateway } from '../../gateway/server.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real gateway on a free port; `{ __typename }` is answered by the gateway itself, so no subgraph has to run. */
async function startGateway(env: Record<string, string>): Promise<string> {
  const config = parseConfig({ NODE_ENV: 'test', RATE_LIMIT_PER_MINUTE: '0', ...env });
  const gateway = await createGateway({ config, logger: createLogger('door-cors', 'silent') });
  const http = await listen(gateway.app, 0);
  cleanups.push(async () => {
    await http.close();
    await gateway.close();
  });
  return `${http.url}/graphql`;
}

const APP = 'https://app.example.com';
const OTHER = 'https://admin.example.com';

function preflight(url: string, origin: string, headers = 'content-type, authorization') {
  return fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers } });
}

function post(url: string, headers: Record<string, string>, body = JSON.stringify({ query: '{ __typename }' })) {
  return fetch(url, { method: 'POST', headers, body });
}

describe('CORS_ORIGINS', () => {
  it('a listed origin: its preflight is answered 204 with credentials, and its requests carry its own origin back, also a 401', async () => {
    const url = await startGateway({ CORS_ORIGINS: `${APP}, ${OTHER}` });
    const answer = await preflight(url, APP, 'content-type, authorization, apollo-require-preflight');
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(APP);
    expect(answer.headers.get('access-control-allow-credentials')).toBe('true');
    expect(answer.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(answer.headers.get('access-control-allow-headers')).toBe('content-type, authorization, apollo-require-preflight');
    expect(Number(answer.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(answer.headers.get('vary')).toMatch(/Origin/);

    for (const origin of [APP, OTHER]) {
      const response = await post(url, { 'content-type': 'application/json', origin });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-expose-headers')).toMatch(/X-Request-ID/);
      expect(response.headers.get('vary')).toMatch(/Origin/);
    }
    // The app can read why it was refused.
    const refused = await post(url, { 'content-type': 'application/json', origin: APP, authorization: 'Bearer not-a-jwt' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('an unlisted origin: its preflight is refused 403 FORBIDDEN and no answer carries a CORS header, whatever the origin looks like', async () => {
    const url = await startGateway({ CORS_ORIGINS: APP });
    for (const origin of [
      'https://evil.example',
      'https://app.example.com.evil.example',
      'http://app.example.com',
      'https://app.example.com:8443',
      'null',
      'http://localhost:5173',
    ]) {
      const answer = await preflight(url, origin);
      expect({ origin, status: answer.status }).toEqual({ origin, status: 403 });
      expect(await answer.json()).toEqual({ errors: [{ message: expect.stringContaining('CORS_ORIGINS'), extensions: { code: 'FORBIDDEN' } }] });
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      const response = await post(url, { 'content-type': 'application/json', origin });
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('empty: no origin at all; in development any http://localhost or http://127.0.0.1 port besides the listed ones', async () => {
    const none = await startGateway({});
    expect((await preflight(none, 'http://localhost:5173')).status).toBe(403);

    const development = await startGateway({ NODE_ENV: 'development', CORS_ORIGINS: APP });
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000', 'http://localhost', APP]) {
      const answer = await preflight(development, origin);
      expect({ origin, status: answer.status, allowed: answer.headers.get('access-control-allow-origin') }).toEqual({ origin, status: 204, allowed: origin });
    }
    for (const origin of ['https://localhost:5173', 'http://localhost.evil.example', 'http://127.0.0.2:3000', 'http://localhost:5173/path']) {
      expect({ origin, status: (await preflight(development, origin)).status }).toEqual({ origin, status: 403 });
    }
  });

  it('a value that is not a list of origins stops the gateway naming CORS_ORIGINS', () => {
    for (const value of ['*', 'https://app.example.com/', 'app.example.com', 'https://app.example.com/path', 'https://*.example.com']) {
      expect(() => parseConfig({ CORS_ORIGINS: value })).toThrow(ConfigError);
      expect(() => parseConfig({ CORS_ORIGINS: value })).toThrow(/^invalid configuration: CORS_ORIGINS=/);
    }
    expect(parseConfig({ CORS_ORIGINS: ' https://a.example , http://localhost:3000 ' }).CORS_ORIGINS).toEqual(['https://a.example', 'http://localhost:3000']);
  });
});

describe('CSRF prevention', () => {
  it('a simple request a form or a script can send without a preflight is refused 400 before anything runs', async () => {
    const url = await startGateway({ CORS_ORIGINS: APP });
    const mutation = 'mutation { deleteUser(id: "00000000-0000-0000-0000-000000000000") }';
    const simple: [string, Record<string, string>, string][] = [
      ['a form POST', { 'content-type': 'application/x-www-form-urlencoded' }, `query=${encodeURIComponent(mutation)}`],
      ['a text/plain POST', { 'content-type': 'text/plain' }, JSON.stringify({ query: mutation })],
      [
        'a multipart POST',
        { 'content-type': 'multipart/form-data; boundary=x' },
        `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${mutation}\r\n--x--\r\n`,
      ],
    ];
    for (const [name, headers, body] of simple) {
      const response = await post(url, { ...headers, origin: 'https://evil.example', cookie: 'session=1' }, body);
      const json = (await response.json()) as { data?: unknown; errors: { message: string; extensions: { code: string } }[] };
      expect({ name, status: response.status, code: json.errors[0]?.extensions.code, data: json.data }).toEqual({
        name,
        status: 400,
        code: 'BAD_REQUEST',
        data: undefined,
      });
      expect(json.errors[0]!.message).toMatch(/Cross-Site Request Forgery/);
    }
    // A GET without a header a page cannot set without a preflight is refused too; with one it runs.
    const get = (headers: Record<string, string>) => fetch(`${url}?query=${encodeURIComponent('{ __typename }')}`, { headers });
    const refused = await get({});
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/Cross-Site Request Forgery/);
    for (const header of ['apollo-require-preflight', 'x-apollo-operation-name']) {
      const response = await get({ [header]: 'true' });
      expect({ header, status: response.status }).toEqual({ header, status: 200 });
    }
    // JSON is not a simple content type: a browser preflights it, so it runs.
    expect((await post(url, { 'content-type': 'application/json' })).status).toBe(200);
  });
});
