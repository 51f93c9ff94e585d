import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../scripts/settings.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { imageCommand, MIGRATE, processNamed, PROCESSES } from '../../scripts/catalog.ts';
import { renderAll } from '../../scripts/kubernetes/cli.ts';
import { idOf, readManifests, type Manifest, type Rendered } from '../../scripts/kubernetes/kustomize.ts';
import {
  BACKUP,
  CONFIG_MAP,
  GRACE_SECONDS,
  KUBERNETES_DIR,
  MIGRATE_JOB,
  PRE_STOP_SECONDS,
  SECRET,
  SECRET_KEYS,
  SERVICES,
  staleBaseFiles,
} from '../../scripts/kubernetes/manifests.ts';
import { validateManifests, type Problem } from '../../scripts/kubernetes/validate.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string) => readManifests(fileURLToPath(new URL(`fixtures/${name}`, import.meta.url)));
const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
})();

let rendered: Record<string, Rendered[]>;
let all: Rendered[];
/** Problems of every rendered object, the fixtures and two edited copies, from one validation (one TypeScript program). */
let problems: Problem[];
const find = (items: Rendered[], kind: string, name: string) =>
  items.find((r) => r.manifest.kind === kind && r.manifest.metadata.name === name)?.manifest as any;

beforeAll(async () => {
  rendered = renderAll();
  all = Object.entries(rendered).flatMap(([name, items]) => items.map((r) => ({ ...r, source: `${name}: ${r.source}` })));
  const gateway = structuredClone(find(rendered.base!, 'Deployment', 'gateway'));
  const container = gateway.spec.template.spec.containers[0];
  container.livenesProbe = container.livenessProbe;
  delete container.livenessProbe;
  const invalid = [...fixture('misspelled-field.yaml'), ...fixture('wrong-type.yaml')].map((r) => ({ ...r, source: 'fixture' }));
  const edited = [gateway, { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } }].map((manifest) => ({ manifest, source: 'edited' }));
  // Problems name the object as "<source>: Kind/name": put the source first for these.
  problems = (await validateManifests([...all, ...invalid, ...edited])).map((p) => {
    const match = /^(.*) \((fixture|edited)\)$/.exec(p.object);
    return match ? { ...p, object: `${match[2]}: ${match[1]}` } : p;
  });
}, 60_000);

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  it('has a base that matches scripts/kubernetes/manifests.ts (npm run kubernetes)', () => {
    expect(staleBaseFiles()).toEqual([]);
  });

  it('renders the base, the development overlay and the Secret example to objects the Kubernetes schemas accept', () => {
    expect(all.length).toBeGreaterThan(30);
    expect(problems.filter((p) => !p.object.startsWith('fixture') && !p.object.startsWith('edited'))).toEqual([]);
  });

  it('rejects a misspelled field, a wrong type, a missing required field and an unknown kind', () => {
    const about = (object: string) => problems.filter((p) => p.object.startsWith(object));
    expect(about('fixture: Deployment/misspelled')).toHaveLength(1);
    expect(about('fixture: Deployment/misspelled')[0]!.message).toMatch(/'"readinesProbe"' does not exist in type 'IContainer'/);
    expect(about('fixture: Service/wrong-type').some((p) => /port/.test(p.message))).toBe(true);
    expect(about('fixture: Deployment/no-selector').some((p) => /selector/.test(p.message))).toBe(true);
    // The same kind of slip in the real gateway Deployment, and a kind the schemas do not have.
    expect(about('edited: Deployment/gateway').map((p) => p.message)).toEqual([expect.stringMatching(/'"livenesProbe"' does not exist/)]);
    expect(about('edited: Deploymnet/x').map((p) => p.message)).toEqual(['no Kubernetes schema for apiVersion apps/v1, kind Deploymnet']);
  });

  it.skipIf(!kubectl)('renders exactly what kubectl kustomize renders', () => {
    for (const dir of ['base', 'overlays/development']) {
      const theirs = (execFileSync('kubectl', ['kustomize', join(KUBERNETES_DIR, dir)], { encoding: 'utf8', timeout: 20_000 }).split(/^---$/m) as string[]).map(
        (doc) => parse(doc) as Manifest,
      );
      const byId = (list: Manifest[]) => Object.fromEntries(list.map((m) => [idOf(m), m]));
      expect(byId(rendered[dir]!.map((r) => r.manifest))).toEqual(byId(theirs));
    }
  });

  it("gives every process of the catalog's base a Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler running the image command of its entry", () => {
    const subgraphs = Object.keys((parse(readFileSync(join(ROOT, 'supergraph.yaml'), 'utf8')) as { subgraphs: object }).subgraphs);
    // Every subgraph of the supergraph and every long-running process the catalog puts in the base is covered.
    expect(
      SERVICES.filter((s) => s.role === 'subgraph')
        .map((s) => s.name)
        .sort(),
    ).toEqual(subgraphs.sort());
    expect(subgraphs.sort()).toEqual(SUBGRAPHS.map((s) => s.name).sort());
    expect(SERVICES.map((s) => s.name).sort()).toEqual(
      PROCESSES.filter((p) => p.runs.kubernetes === 'base' && p.role !== 'backup')
        .map((p) => p.name)
        .sort(),
    );

    for (const { name, entry } of SERVICES) {
      const deployment = find(rendered.base!, 'Deployment', name);
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      expect(entry).toBe(processNamed(name).source);
      expect(container.command).toEqual(imageCommand(entry));
      // One subgraph's outage must not take the gateway out of its Service: it answers partial data meanwhile.
      expect(container.readinessProbe.httpGet.path).toBe(name === 'gateway' ? '/health' : '/ready');
      expect(container.livenessProbe.httpGet.path).toBe('/health');
      expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container.envFrom).toEqual([{ configMapRef: { name: CONFIG_MAP } }, { secretRef: { name: SECRET } }]);
      // Starts only once the migrate Job has applied this image's migrations.
      expect(pod.initContainers.map((c: { command: string[] }) => c.command)).toEqual([imageCommand(MIGRATE.source, '--wait')]);
      expect(find(rendered.base!, 'Service', name).spec.selector).toEqual(deployment.spec.selector.matchLabels);
      expect(find(rendered.base!, 'PodDisruptionBudget', name).spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
      const hpa = find(rendered.base!, 'HorizontalPodAutoscaler', name);
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(deployment.spec.replicas).toBeUndefined();
    }
    const job = find(rendered.base!, 'Job', MIGRATE_JOB);
    expect(job.spec.template.spec.containers[0].command).toEqual(imageCommand(MIGRATE.source));
  });

  it('gives the workers longer to stop than their longest job may hold its lock', () => {
    const lockSeconds = parseConfig({}).WORKER_LOCK_MS / 1000;
    expect(GRACE_SECONDS.workers).toBeGreaterThan(lockSeconds + PRE_STOP_SECONDS);
    expect(find(rendered.base!, 'Deployment', 'workers').spec.template.spec.terminationGracePeriodSeconds).toBe(GRACE_SECONDS.workers);
  });

  it('runs the backup schedules in one backup pod with its volume, and none in the workers', () => {
    const data = find(rendered['overlays/development']!, 'ConfigMap', CONFIG_MAP).data;
    const settings = (container: { env?: { name: string; value: string }[] }) =>
      parseConfig({ ...data, ...Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value])) });
    const workers = find(rendered.base!, 'Deployment', 'workers').spec.template.spec.containers[0];
    expect(settings(workers).BACKUP_DUMP_EVERY_MS).toBe(0);

    const deployment = find(rendered.base!, 'Deployment', BACKUP.name);
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    // The image command of the catalog's backup entry, as every process.
    expect(container.command).toEqual(imageCommand(processNamed('backup').source));
    expect(settings(container).BACKUP_DUMP_EVERY_MS).toBeGreaterThan(0);
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(pod.initContainers.map((c: { command: string[] }) => c.command)).toEqual([imageCommand(MIGRATE.source, '--wait')]);
    // BACKUP_DIR is the mount of the claim, a ReadWriteOnce volume.
    const dir = settings(container).BACKUP_DIR;
    const mount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === dir);
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    const claim = find(rendered.base!, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(claim.spec.resources.requests.storage).toMatch(/^\d+Gi$/);
    // It serves no HTTP: no probes, no Service; nothing keeps it from being drained or scales it.
    expect([container.startupProbe, container.livenessProbe, container.readinessProbe, container.ports]).toEqual([undefined, undefined, undefined, undefined]);
    for (const kind of ['Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']) expect(find(rendered.base!, kind, BACKUP.name)).toBeUndefined();
    // Room to finish a dump of the default interval after SIGTERM.
    expect(pod.terminationGracePeriodSeconds).toBe(BACKUP.graceSeconds);
    expect(BACKUP.graceSeconds * 1000).toBeGreaterThanOrEqual(parseConfig({}).BACKUP_DUMP_EVERY_MS);
  });

  it('configures the development overlay so that every service parses its settings and reaches the others by Service name', () => {
    const dev = rendered['overlays/development']!;
    const data = find(dev, 'ConfigMap', CONFIG_MAP).data;
    const secret = find(dev, 'Secret', SECRET).stringData;
    expect(Object.keys(secret).sort()).toEqual([...SECRET_KEYS].sort());
    expect(Object.keys(find(rendered['base/secret.example.yaml']!, 'Secret', SECRET).stringData).sort()).toEqual([...SECRET_KEYS].sort());
    const config = parseConfig({ ...data, ...secret });
    // Every key is a setting of common/config.ts: a misspelled variable would be ignored silently.
    expect(Object.keys({ ...data, ...secret }).filter((key) => !(key in parseConfig({})))).toEqual([]);
    expect(config.NODE_ENV).toBe('development');
    expect(data.HOST).toBe('0.0.0.0');
    const services = new Set(dev.filter((r) => r.manifest.kind === 'Service').map((r) => r.manifest.metadata.name));
    for (const url of [
      config.USERS_URL,
      config.EVENTS_URL,
      config.ORDERS_URL,
      config.INVENTORY_URL,
      config.NOTIFICATIONS_URL,
      config.NOTIFY_URL,
      config.DATABASE_URL,
      config.REDIS_URL,
    ]) {
      expect(services).toContain(new URL(url).hostname);
    }
    expect(find(dev, 'Deployment', 'gateway').spec.template.spec.containers[0].image).toBe('junction:local');
    // The base leaves production partner URLs to the operator, never the simulated ones.
    expect(Object.values(find(rendered.base!, 'ConfigMap', CONFIG_MAP).data).join(' ')).not.toContain('external');
  });
});
