// @ts-check
/**
 * Serves the built app (dist/) on its own origin, with /config.json telling
 * it where the gateway and the identity provider are. No dependencies: any
 * static host does the same (dist/ plus a config.json beside index.html).
 *
 *   WEB_PORT=4030 WEB_HOST=127.0.0.1 GATEWAY_URL=http://127.0.0.1:4000/graphql IDENTITY_URL=http://127.0.0.1:4010 node serve.js
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const DIST = fileURLToPath(new URL('./dist/', import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Stops the server at start with one line saying what is wrong. @param {string} line @returns {never} */
function fail(line) {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

/** @param {string | undefined} value @param {string} name */
function url(value, name) {
  try {
    return new URL(value ?? '').toString().replace(/\/$/, '');
  } catch {
    return fail(`${name}=${value ?? ''} is not a URL (e.g. http://127.0.0.1:4000/graphql)`);
  }
}

const port = Number(process.env.WEB_PORT ?? 4030);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`WEB_PORT=${process.env.WEB_PORT} is not a port (0..65535)`);
const host = process.env.WEB_HOST ?? '127.0.0.1';
const config = {
  gatewayUrl: url(process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000/graphql', 'GATEWAY_URL'),
  identityUrl: url(process.env.IDENTITY_URL ?? 'http://127.0.0.1:4010', 'IDENTITY_URL'),
};
if (!existsSync(join(DIST, 'index.html'))) fail(`${DIST}index.html does not exist: build the app first (npm run build in examples/web)`);

const gateway = new URL(config.gatewayUrl);
const socket = `${gateway.protocol === 'https:' ? 'wss:' : 'ws:'}//${gateway.host}`;
// The page may talk to its own origin, the gateway (HTTP and WebSocket) and the identity provider, and nothing else.
const policy = `default-src 'self'; connect-src 'self' ${gateway.origin} ${socket} ${new URL(config.identityUrl).origin}; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`;

/** @param {string} pathname */
function fileOf(pathname) {
  const path = normalize(join(DIST, decodeURIComponent(pathname)));
  if (!path.startsWith(DIST.endsWith(sep) ? DIST : DIST + sep)) return null;
  return existsSync(path) && statSync(path).isFile() ? path : null;
}

const server = createServer((req, res) => {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (pathname === '/config.json') {
    res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' }).end(JSON.stringify(config));
    return;
  }
  // Any other path is the app (its pages are #/… anyway): index.html, never cached, so a new build is picked up.
  const file = fileOf(pathname) ?? join(DIST, 'index.html');
  const hashed = file.includes(`${sep}assets${sep}`);
  res.writeHead(200, {
    'content-type': TYPES[/** @type {keyof typeof TYPES} */ (extname(file))] ?? 'application/octet-stream',
    'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
    'content-security-policy': policy,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
});

server.listen(port, host, () => {
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`web: the store is at http://${host}:${actual}/ (gateway ${config.gatewayUrl})\n`);
});
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
