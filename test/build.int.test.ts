/**
 * Compiled production: `npm run build` (tsc -p tsconfig.build.json, then the
 * assets) into a temporary dist/, laid out as the image's /app (package.json
 * beside dist/ and node_modules), then every command the Dockerfile,
 * docker-compose.yml and the Kubernetes manifests run is checked against it,
 * and the compiled migrations, partners, a subgraph and the gateway are started
 * with plain node (no tsx) on a database of their own.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledEntry, imageCommand, MIGRATE, processNamed, PROCESSES } from '../scripts/catalog.ts';
import { COMPOSE_FILE } from '../scripts/catalog-cli.ts';
import { copyAssets } from '../scripts/copy-assets.ts';
import { renderAll } from '../scripts/kubernetes/cli.ts';
import { freePort } from './support/orders.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** The image's /app: package.json, dist/ and (a link to) node_modules. */
let app: string;
const children: ChildProcess[] = [];
let database: { url: string; name: string } | undefined;
/** The BullMQ prefix of the processes started here; afterAll removes its keys from the shared Redis. */
const QUEUE_PREFIX = `jt-build-${randomBytes(4).toString('hex')}`;

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'junction-build-'));
  // As `npm run build`, into the temporary dist/.
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  copyAssets(join(app, 'dist'));
  copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
}, 300_000);

afterAll(async () => {
  // Stopped, and gone, before their queue keys are removed.
  await Promise.all(
    children
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map((child) => {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGKILL');
        return exited;
      }),
  );
  if (database) {
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${database.name}" with (force)`).finally(() => admin.end());
  }
  if (app) rmSync(app, { recursive: true, force: true });
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${QUEUE_PREFIX}:*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
});

/** Every node command the image runs: the Dockerfile's CMD, each compose service's, each Kubernetes container's and init container's. */
function commands(): { where: string; command: string[] }[] {
  const found: { where: string; command: string[] }[] = [{ where: 'Dockerfile CMD', command: dockerfile().cmd }];
  const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
    services: Record<string, { command?: string[]; image?: string; build?: string }>;
  };
  for (const [name, service] of Object.entries(compose.services)) {
    if (service.build) found.push({ where: `docker-compose.yml ${name}`, command: service.command! });
  }
  for (const [set, items] of Object.entries(renderAll())) {
    for (const { manifest } of items) {
      const spec = (manifest as any).spec?.template?.spec ?? (manifest as any).spec?.jobTemplate?.spec?.template?.spec;
      for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
        if (String(container.image).startsWith('junction'))
          found.push({ where: `${set} ${manifest.kind}/${manifest.metadata.name} ${container.name}`, command: container.command });
      }
    }
  }
  return found;
}

interface Dockerfile {
  stages: { from: string; lines: string[] }[];
  cmd: string[];
}

/** The Dockerfile's stages (continuation lines joined), and the last stage's CMD. */
function dockerfile(): Dockerfile {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Dockerfile['stages'] = [];
  for (const line of lines) {
    if (/^FROM /i.test(line)) stages.push({ from: line, lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  const cmd = stages
    .at(-1)!
    .lines.filter((l) => /^CMD /.test(l))
    .at(-1)!;
  return { stages, cmd: JSON.parse(cmd.slice(4)) as string[] };
}

/** Bare package names the compiled files reachable from `entry` import (relative imports followed; builtins left out). */
function packagesImported(entry: string, seen = new Set<string>(), packages = new Set<string>()): Set<string> {
  if (seen.has(entry)) return packages;
  seen.add(entry);
  // Comments may quote imports (`import('./server.js')` in a JSDoc): only code counts.
  const text = readFileSync(entry, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  for (const match of text.matchAll(
    /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm,
  )) {
    const specifier = match[1] ?? match[2] ?? match[3]!;
    if (specifier.startsWith('.')) {
      packagesImported(resolve(dirname(entry), specifier), seen, packages);
    } else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
      const parts = specifier.split('/');
      packages.add(specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
    }
  }
  return packages;
}

async function waitForHealth(child: ChildProcess, base: string, what: string): Promise<void> {
  // A loaded machine may take long to start a process; its exit ends the wait at once.
  const deadline = Date.now() + 90_000;
  while (
    !(await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before answering ${base}/health`);
    if (Date.now() > deadline) throw new Error(`${what} did not answer ${base}/health in 90 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs a compiled entry as the image does (`node dist/…js`, cwd /app) and waits for its /health. */
async function startCompiled(source: string, env: Record<string, string>): Promise<{ base: string; child: ChildProcess; stderr: () => string }> {
  const p = PROCESSES.find((x) => x.source === source)!;
  const port = await freePort();
  const [node, ...args] = imageCommand(source);
  expect(node).toBe('node');
  let stderr = '';
  const child = spawn(process.execPath, args, {
    cwd: app,
    // No NODE_OPTIONS (vitest's) and no tsx: plain node on the compiled code.
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env, [p.port!.setting]: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitForHealth(child, base, `${source} compiled`).catch((error: Error) => {
    throw new Error(`${error.message}\n${stderr}`);
  });
  return { base, child, stderr: () => stderr };
}

describe('compiled production (npm run build, the Dockerfile, compose, Kubernetes)', () => {
  it('builds the Dockerfile in two stages: compiled with dev dependencies, run from dist/ with production ones, as a non-root user, with a HEALTHCHECK', () => {
    const { stages, cmd } = dockerfile();
    expect(stages.length).toBe(2);
    const [build, runtime] = stages as [Dockerfile['stages'][0], Dockerfile['stages'][0]];
    expect(build.from).toMatch(/ AS build$/i);
    expect(build.lines).toEqual(expect.arrayContaining(['RUN npm ci --no-audit --no-fund', 'RUN npm run build']));
    expect(runtime.lines.some((l) => /^RUN npm ci --omit=dev\b/.test(l))).toBe(true);
    expect(runtime.lines).toContain('COPY --from=build /app/dist ./dist');
    // Nothing of the sources or the dev tools in the runtime stage: no `COPY . .`, no tsx.
    expect(runtime.lines.filter((l) => /^COPY \. /.test(l) || /\btsx\b/.test(l))).toEqual([]);
    expect(runtime.lines.filter((l) => /^USER /.test(l))).toEqual(['USER node']);
    expect(runtime.lines.some((l) => /^HEALTHCHECK .*CMD .*\/health/.test(l))).toBe(true);
    expect(cmd).toEqual(imageCommand(processNamed('gateway').source));
  });

  it('runs only compiled entries that the build produces, never tsx, in the Dockerfile, docker-compose.yml and every Kubernetes container', () => {
    const all = commands();
    // The gateway, partners, five subgraphs, workers and migrations in compose; every Deployment, Job and init container in Kubernetes.
    expect(all.length).toBeGreaterThan(20);
    for (const { where, command } of all) {
      expect(command[0], where).toBe('node');
      expect(command[1], where).toMatch(/^dist\/.+\.js$/);
      expect(existsSync(join(app, command[1]!)), `${where}: ${command[1]} is built`).toBe(true);
      expect(command.join(' '), where).not.toMatch(/tsx|--import|\.ts\b/);
    }
    // Every process of the catalog that runs in a container, and the migrations, is among them.
    const entries = new Set(all.map((c) => c.command[1]));
    for (const p of PROCESSES.filter((x) => x.runs.compose || x.runs.kubernetes)) expect(entries, p.name).toContain(compiledEntry(p.source));
    expect(entries).toContain(compiledEntry(MIGRATE.source));
  });

  it('needs only `dependencies` at run time: every package the compiled entries import is one, and tsx is a dev dependency', () => {
    const entries = [...new Set(commands().map((c) => c.command[1]!)), compiledEntry('scripts/backup.ts')];
    const imported = new Set<string>();
    for (const entry of entries) for (const name of packagesImported(join(app, entry))) imported.add(name);
    expect(imported.size).toBeGreaterThan(10);
    expect([...imported].filter((name) => !(name in pkg.dependencies)).sort()).toEqual([]);
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
    expect(Object.keys(pkg.devDependencies)).toContain('tsx');
  });

  it('migrates a new database and starts the partners, a subgraph, the gateway and the workers from dist/ with plain node; a sign-up goes through; the backup command lists', async () => {
    const name = `jt_build_${randomBytes(4).toString('hex')}`;
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`).finally(() => admin.end());
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    database = { url: url.toString(), name };

    const common = {
      DATABASE_URL: database.url,
      QUEUE_PREFIX,
      NODE_ENV: 'production',
      INGEST_API_KEY: 'build-test-ingest-key',
      SERVICE_API_KEY: 'build-test-service-key-0123456789',
    };
    const [, ...migrate] = imageCommand(MIGRATE.source);
    execFileSync(process.execPath, migrate, { cwd: app, env: { PATH: process.env.PATH ?? '', ...common }, stdio: 'pipe', timeout: 120_000 });

    const external = await startCompiled(processNamed('external').source, common);
    const auth = {
      AUTH_JWKS_URL: `${external.base}/.well-known/jwks.json`,
      ENRICHMENT_URL: external.base,
      EVENT_REGISTRY_URL: external.base,
      NOTIFY_URL: external.base,
      BACKUP_URL: external.base,
    };
    const users = await startCompiled(processNamed('users').source, { ...common, ...auth });
    const gateway = await startCompiled(processNamed('gateway').source, { ...common, ...auth, USERS_URL: `${users.base}/graphql` });

    const response = await fetch(`${gateway.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { createUser(input: {name: "Ada Lovelace", email: "ada@example.com"}) { id name } }' }),
    });
    const body = (await response.json()) as { data?: { createUser: { id: string; name: string } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data!.createUser.name).toBe('Ada Lovelace');

    // The workers (no inventory runs here: they only need its URL to start), and `npm run backup -- list`
    // as the image runs it (node dist/scripts/backup.js), without tsx too.
    const backupDir = join(app, 'backups');
    await startCompiled(processNamed('workers').source, {
      ...common,
      ...auth,
      INVENTORY_URL: `${users.base}/graphql`,
      BACKUP_DIR: backupDir,
      BACKUP_DUMP_EVERY_MS: '0',
    });
    const listed = execFileSync(process.execPath, [compiledEntry('scripts/backup.ts'), 'list', '--json'], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', ...common, ...auth, BACKUP_DIR: backupDir },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(() => JSON.parse(listed) as unknown).not.toThrow();
  }, 300_000);
});
