/**
 * `npm start`: the whole of Junction on this machine. Applies migrations,
 * checks supergraph.graphql, runs every service as a child process with
 * prefixed logs (restarting any that dies), prints the URLs once the gateway
 * is ready, and stops everything on Ctrl-C or SIGTERM.
 *
 * `--with-web` (`npm run example:web`) also builds examples/web when needed and
 * serves it on WEB_PORT, its own origin, with the gateway allowing that origin
 * (CORS_ORIGINS) and loading the app's persisted operations (OPERATIONS_MANIFEST).
 */
import { createServer } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { databaseName, distinctDatabaseUrls } from '../common/databases.ts';
import { loadConfig, type Config } from './settings.ts';
import { migrateDatabase } from '../common/db.ts';
import { launcherProcesses, SUBGRAPH_NAMES } from './catalog.ts';
import { CompositionError, PROJECT_ROOT, SUPERGRAPH_CONFIG, supergraphStatus } from './compose.ts';
import { createPrefixer, readableLines } from './launcher/log-lines.ts';
import { ensureWebBuilt, WEB_MANIFEST } from './web-example.ts';
import { Supervisor, type ServiceSpec } from './launcher/supervisor.ts';

type PortVariable = { [K in keyof Config]: Config[K] extends number ? (K extends `${string}_PORT` ? K : never) : never }[keyof Config];

interface Service extends ServiceSpec {
  port: PortVariable;
  /** What to print once ready, from the service's base URL. */
  show(base: string): string;
}

const withWeb = process.argv.includes('--with-web');
// The catalog's processes (scripts/catalog.ts) in its start order: the gateway last, once everything it routes to is on its way.
const SERVICES: Service[] = launcherProcesses(withWeb).map((p) => {
  if (!p.port || !p.show) throw new Error(`scripts/catalog.ts: ${p.name} runs under npm start but has no port or nothing to show`);
  const show = p.show;
  return { name: p.name, entry: p.source, port: p.port.setting as PortVariable, show: (base: string) => show.replaceAll('{base}', base) };
});

const LAUNCHER = 'start';

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

/** Resolves when `port` can be listened on (as the services do: every interface). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, () => probe.close(() => done(true)));
  });
}

async function checkPorts(config: Config, services: Service[]): Promise<void> {
  const seen = new Map<number, string>();
  for (const { port } of services) {
    const value = config[port];
    if (value === 0) fail(`${port}=0: npm start needs a fixed port for every service`);
    if (seen.has(value)) fail(`${port} and ${seen.get(value)} are both ${value}: every service needs its own port`);
    seen.set(value, port);
    if (!(await portIsFree(value))) fail(`port ${value} (${port}) is in use: stop what listens there, or set ${port} to run a second stack`);
  }
}

function checkSupergraph(config: Config): void {
  const file = isAbsolute(config.SUPERGRAPH_PATH) ? config.SUPERGRAPH_PATH : resolve(PROJECT_ROOT, config.SUPERGRAPH_PATH);
  try {
    const status = supergraphStatus(SUPERGRAPH_CONFIG, file);
    if (!status.configCurrent) fail('supergraph.yaml does not list the subgraphs of subgraphs/index.ts: run npm run compose');
    if (status.committed === null) fail(`${config.SUPERGRAPH_PATH} does not exist: run npm run compose`);
    if (!status.current) fail(`${config.SUPERGRAPH_PATH} is stale: run npm run compose`);
  } catch (error) {
    if (error instanceof CompositionError) fail(error.message);
    throw error;
  }
}

/** An admin token from the development identity provider, for Apollo Sandbox's headers and Bull Board. */
async function devAdminToken(external: string): Promise<string> {
  try {
    const response = await fetch(`${external}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub: 'operator', roles: ['admin'], expiresIn: 24 * 3600 }),
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) return `(none: ${external}/auth/token answered ${response.status})`;
    return ((await response.json()) as { token: string }).token;
  } catch (error) {
    return `(none: ${(error as Error).message})`;
  }
}

async function gatewayReady(url: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { ok: response.status === 200, detail: `${response.status} ${(await response.text()).slice(0, 300)}` };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  }
}

/** The example app's server settings, and the gateway's for the app: its origin allowed, its operations loaded. */
function webEnv(config: Config): Record<string, string> {
  const origins = [`http://127.0.0.1:${config.WEB_PORT}`, `http://localhost:${config.WEB_PORT}`];
  const listed = (process.env.CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  return {
    CORS_ORIGINS: [...new Set([...listed, ...origins])].join(','),
    OPERATIONS_MANIFEST: process.env.OPERATIONS_MANIFEST || WEB_MANIFEST,
    GATEWAY_URL: `http://127.0.0.1:${config.GATEWAY_PORT}/graphql`,
    IDENTITY_URL: `http://127.0.0.1:${config.EXTERNAL_PORT}`,
  };
}

const config = loadConfig();
const local = (s: Service) => `http://127.0.0.1:${config[s.port]}`;
const prefixer = createPrefixer([LAUNCHER, ...SERVICES.map((s) => s.name)], Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
const say = (line: string) => console.log(prefixer.prefix(LAUNCHER, line));

await checkPorts(config, SERVICES);
// Every distinct database: DATABASE_URL and any subgraph's own <NAME>_DATABASE_URL.
for (const url of distinctDatabaseUrls(config, SUBGRAPH_NAMES)) {
  const which = url === config.DATABASE_URL ? 'DATABASE_URL' : `${databaseName(url)} at ${new URL(url).host}`;
  try {
    await migrateDatabase(url);
  } catch (error) {
    fail(`cannot migrate the database at ${which}: ${(error as Error).message}`);
  }
  say(`database ${databaseName(url)} is migrated`);
}
checkSupergraph(config);
say(`${config.SUPERGRAPH_PATH} matches subgraphs/index.ts and the subgraph schemas`);
if (config.ingestKeyGenerated) say(`INGEST_API_KEY is not set: every service uses ${config.INGEST_API_KEY} for this run`);
// Tokens come from the development identity provider unless AUTH_JWKS_URL names another.
const devIdentity = process.env.AUTH_JWKS_URL === undefined;

if (withWeb) {
  try {
    await ensureWebBuilt((line) => say(`examples/web: ${line}`));
  } catch (error) {
    fail(`cannot build examples/web: ${(error as Error).message}`);
  }
}

const supervisor = new Supervisor({
  root: PROJECT_ROOT,
  // The same keys for every child, generated or not.
  env: { ...process.env, INGEST_API_KEY: config.INGEST_API_KEY, SERVICE_API_KEY: config.SERVICE_API_KEY, ...(withWeb ? webEnv(config) : {}) },
  output: (name, line) => {
    for (const readable of readableLines(line)) console.log(prefixer.prefix(name, readable));
  },
  say,
});

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping every service`);
  void supervisor.stop(10_000).then(() => {
    say('stopped');
    process.exit(0);
  });
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));

for (const service of SERVICES) supervisor.start(service);

// Print the URLs once the gateway's /ready answers 200; say what it waits for now and then.
const gateway = SERVICES.find((s) => s.name === 'gateway')!;
const readyUrl = `${local(gateway)}/ready`;
const waitingSince = Date.now();
let lastNote = waitingSince;
for (;;) {
  if (stopping) break;
  const { ok, detail } = await gatewayReady(readyUrl);
  if (ok) {
    const width = Math.max(...SERVICES.map((s) => s.name.length), 'INGEST_API_KEY'.length);
    const lines = SERVICES.map((s) => `  ${s.name.padEnd(width)}  ${s.show(local(s))}`);
    if (!config.production) lines[SERVICES.indexOf(gateway)] += '  (Apollo Sandbox: open it in a browser)';
    // A key of the user's own is a secret: only a generated one is shown.
    lines.push(
      `  ${'INGEST_API_KEY'.padEnd(width)}  ${config.ingestKeyGenerated ? `${config.INGEST_API_KEY}  (generated for this run)` : '(from the environment)'}`,
    );
    say(`Junction is ready in ${((Date.now() - waitingSince) / 1000).toFixed(1)} s:`);
    for (const line of lines) say(line);
    if (devIdentity) {
      const base = local(SERVICES.find((s) => s.name === 'external')!);
      say(
        `Admin token for 24 h (Sandbox → Headers: Authorization: Bearer <token>; Bull Board: sign in at ${local(SERVICES.find((s) => s.name === 'workers')!)}/admin/login):`,
      );
      say(`  ${await devAdminToken(base)}`);
      // The id is one createUser returned (README, steps 1 and 2): a token for any other sub signs in no one, and `me` is null.
      say(`A user's token, USER_ID being the id createUser returned (README, "Use it from your app"):`);
      say(`  curl -s -X POST ${base}/auth/token -H 'content-type: application/json' -d "{\\"sub\\": \\"$USER_ID\\"}"`);
    } else {
      say(`Sign in with tokens from your identity provider (AUTH_JWKS_URL=${config.AUTH_JWKS_URL}).`);
    }
    if (withWeb) {
      say(
        `The example store allows only its own operations with OPERATIONS_SAFELIST=enforce (its manifest: ${process.env.OPERATIONS_MANIFEST || WEB_MANIFEST}).`,
      );
      if (!devIdentity) say('The example store signs in with the development identity provider: see examples/web/README.md for a real one.');
    }
    say('Ctrl-C stops everything.');
    break;
  }
  if (Date.now() - lastNote >= 20_000) {
    lastNote = Date.now();
    say(`still waiting for ${readyUrl}: ${detail}`);
  }
  await new Promise((r) => setTimeout(r, 500));
}
