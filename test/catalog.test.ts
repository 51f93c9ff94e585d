import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../scripts/settings.ts';
import { imageCommand, MIGRATE, PROCESSES } from '../scripts/catalog.ts';
import { COMPOSE_FILE, generatedFiles, staleFiles } from '../scripts/catalog-cli.ts';
import { SUBGRAPHS } from '../subgraphs/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Files that start a process of their own, by the project's convention: each folder's index.ts, a worker's main.ts. */
function entryFiles(): string[] {
  const files = ['gateway/index.ts', 'external/index.ts', 'workers/index.ts'];
  for (const name of readdirSync(join(ROOT, 'subgraphs'))) if (existsSync(join(ROOT, 'subgraphs', name, 'index.ts'))) files.push(`subgraphs/${name}/index.ts`);
  for (const name of readdirSync(join(ROOT, 'workers'))) if (existsSync(join(ROOT, 'workers', name, 'main.ts'))) files.push(`workers/${name}/main.ts`);
  return files.sort();
}

/** Entry files that are no process of a deployment (none: the crash test's notification-workers process is in test/support). */
const NOT_DEPLOYED: string[] = [];

describe('the catalog of processes (scripts/catalog.ts)', () => {
  it('made the committed docker-compose.yml and Kubernetes files (npm run catalog -- --check)', () => {
    expect(Object.keys(generatedFiles())).toContain(COMPOSE_FILE);
    expect(Object.keys(generatedFiles()).length).toBeGreaterThan(10);
    expect(staleFiles()).toEqual([]);
  });

  it('names every entry file that exists, and each of its entries exists', () => {
    const sources = [...PROCESSES.map((p) => p.source), MIGRATE.source];
    for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
    expect(entryFiles().filter((f) => !NOT_DEPLOYED.includes(f))).toEqual(
      PROCESSES.map((p) => p.source)
        .filter((s) => entryFiles().includes(s))
        .sort(),
    );
  });

  it('lists every subgraph of subgraphs/index.ts with its port and URL settings, in its order', () => {
    const subgraphs = PROCESSES.filter((p) => p.role === 'subgraph');
    expect(subgraphs.map((p) => ({ name: p.name, port: p.port, url: p.urlSetting }))).toEqual(
      SUBGRAPHS.map((s) => ({ name: s.name, port: { setting: s.portSetting, default: s.defaultPort }, url: s.urlSetting })),
    );
  });

  it('names only settings of common/config.ts, with their defaults, and only processes it lists', () => {
    const defaults = parseConfig({}) as unknown as Record<string, unknown>;
    const names = new Set(PROCESSES.map((p) => p.name));
    for (const p of PROCESSES) {
      if (p.port) expect(defaults[p.port.setting], `${p.name}: ${p.port.setting}`).toBe(p.port.default);
      for (const setting of [...p.needs, ...(p.urlSetting ? [p.urlSetting] : [])]) expect(setting in defaults, `${p.name}: ${setting}`).toBe(true);
      for (const dependency of p.dependsOn) expect(names.has(dependency), `${p.name} depends on ${dependency}`).toBe(true);
      if (p.runs.launcher || p.runs.compose) expect(p.port && p.health, `${p.name}: a port and /health`).toBeTruthy();
    }
    expect(new Set(PROCESSES.filter((p) => p.port).map((p) => p.port!.default)).size).toBe(PROCESSES.filter((p) => p.port).length);
  });

  it('gives docker-compose.yml one service per process it runs there, with the image command of its entry and healthchecks on its port', () => {
    const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
      services: Record<string, { command: string[]; healthcheck?: { test: string[] }; depends_on?: object }>;
    };
    const processes = PROCESSES.filter((p) => p.runs.compose);
    expect(Object.keys(compose.services).sort()).toEqual(['postgres', 'redis', MIGRATE.name, ...processes.map((p) => p.name)].sort());
    expect(compose.services[MIGRATE.name]!.command).toEqual(imageCommand(MIGRATE.source));
    for (const p of processes) {
      const service = compose.services[p.name]!;
      expect(service.command).toEqual(imageCommand(p.source));
      expect(service.healthcheck!.test.join(' ')).toContain(`http://127.0.0.1:${p.port!.default}${p.health}`);
      expect(Object.keys(service.depends_on ?? {})).toEqual(expect.arrayContaining([...p.dependsOn, 'migrate', 'redis']));
    }
  });
});
