/**
 * The Kubernetes base in deploy/kubernetes/base (and the development overlay's
 * simulated partners), written from the catalog of processes (scripts/catalog.ts),
 * so every Deployment gets the same probes, migration wait, resources,
 * disruption budget and autoscaler; plus the one-replica backup Deployment
 * with its volume (BACKUP).
 *
 *   npm run catalog                 writes them, with docker-compose.yml
 *   npm run catalog -- --check      fails when a committed file is stale
 *   npm run kubernetes -- --check   also fails when a rendered base or overlay breaks the Kubernetes schemas
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { imageCommand, MIGRATE, processNamed, PROCESSES, type Process } from '../catalog.ts';
import { PROJECT_ROOT } from '../compose.ts';

export const KUBERNETES_DIR = join(PROJECT_ROOT, 'deploy', 'kubernetes');
export const BASE_DIR = join(KUBERNETES_DIR, 'base');
export const DEVELOPMENT_DIR = join(KUBERNETES_DIR, 'overlays', 'development');

/** The one image every service runs (docker-compose.yml builds it from the Dockerfile). */
export const IMAGE = 'junction';
export const CONFIG_MAP = 'junction-config';
export const SECRET = 'junction-secrets';
export const MIGRATE_JOB = 'junction-migrate';

export type Role = 'gateway' | 'subgraph' | 'workers';

export interface Service {
  name: string;
  role: Role;
  /** Entry file (the catalog's source), run by the image's command (scripts/catalog.ts imageCommand, as in docker-compose.yml). */
  entry: string;
  port: number;
  /** The settings naming its port and, for a subgraph, its URL. */
  portSetting: string;
  urlSetting?: string;
  /** Requests per pod, which the autoscaler's CPU target is measured against. */
  cpu: string;
  memory: string;
  maxReplicas: number;
}

function asService(p: Process): Service {
  if (!p.port || !p.scaling?.maxReplicas || !['gateway', 'subgraph', 'workers'].includes(p.role)) {
    throw new Error(`scripts/catalog.ts: ${p.name} runs in the Kubernetes base but has no port, or no maxReplicas, or a role without a Deployment`);
  }
  return {
    name: p.name,
    role: p.role as Role,
    entry: p.source,
    port: p.port.default,
    portSetting: p.port.setting,
    ...(p.urlSetting ? { urlSetting: p.urlSetting } : {}),
    cpu: p.scaling.cpu,
    memory: p.scaling.memory,
    maxReplicas: p.scaling.maxReplicas,
  };
}

/** Every Junction service that runs in production, from the catalog: the gateway, each subgraph, the workers (the simulated partners come with the development overlay). */
export const SERVICES: readonly Service[] = [
  // The gateway first, as the base always listed it.
  ...PROCESSES.filter((p) => p.runs.kubernetes === 'base' && p.role === 'gateway'),
  ...PROCESSES.filter((p) => p.runs.kubernetes === 'base' && (p.role === 'subgraph' || p.role === 'workers')),
].map(asService);

/**
 * Seconds Kubernetes waits after SIGTERM before SIGKILL. Each service stops
 * taking work on SIGTERM and finishes what it holds: the longest is a worker's
 * job, which never holds its lock past WORKER_LOCK_MS (30 s by default; a job
 * that runs longer is taken over by another worker anyway), plus the preStop pause.
 */
export const GRACE_SECONDS: Record<Role, number> = { gateway: 30, subgraph: 30, workers: 60 };
/** Pause before SIGTERM so the endpoints controller takes the pod out of its Service first. */
export const PRE_STOP_SECONDS = 5;

/**
 * The backup schedules, run in one pod of their own (workers/backup/main.ts) with
 * the dumps on a volume: dumps are files, so the pod that uploads the day's
 * archive must be the one that made them. The workers Deployment runs with
 * BACKUP_DUMP_EVERY_MS=0 (no backup job there). The process serves no HTTP
 * (no probes, no Service, no /metrics); one replica, replaced with Recreate,
 * since its ReadWriteOnce volume attaches to one node at a time.
 */
const backup = processNamed('backup');
export const BACKUP = {
  name: backup.name,
  entry: backup.source,
  /** BACKUP_DIR of the image (Dockerfile), where the volume is mounted. */
  dir: '/var/lib/junction/backups',
  claim: 'backup-data',
  /** A week of dumps (BACKUP_RETENTION_DAYS) plus the archives: resize for your database. */
  storage: '20Gi',
  cpu: backup.scaling!.cpu,
  memory: backup.scaling!.memory,
  /**
   * On SIGTERM the process finishes the dump in progress (worker.close() waits
   * for active jobs) before it exits: 5 minutes, the default BACKUP_DUMP_EVERY_MS
   * (a dump longer than its interval would fall behind anyway). A dump cut off
   * by SIGKILL leaves only a hidden .partial file, never listed, and runs again.
   */
  graceSeconds: 300,
} as const;

export function command(entry: string, ...args: string[]): string[] {
  return imageCommand(entry, ...args);
}

function labels(name: string) {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'junction' };
}

function selector(name: string) {
  return { 'app.kubernetes.io/name': name };
}

/** Settings every Junction container reads: the ConfigMap, then the Secret. */
export const envFrom = [{ configMapRef: { name: CONFIG_MAP } }, { secretRef: { name: SECRET } }];

/** The non-root node user of the image, no privilege escalation, a read-only root with a writable /tmp. */
const containerSecurity = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};
const podSecurity = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } };
const tmp = { volumes: [{ name: 'tmp', emptyDir: {} }], mount: { name: 'tmp', mountPath: '/tmp' } };

/**
 * Waits until the migrations in this image are applied (by the migrate Job),
 * applying none itself: a new version's pods start only after its migrations ran.
 */
export const waitForMigrations = {
  name: 'wait-for-migrations',
  image: IMAGE,
  command: command(MIGRATE.source, '--wait'),
  envFrom,
  resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  securityContext: containerSecurity,
  volumeMounts: [tmp.mount],
};

/**
 * A Deployment of one Junction container: the pod's security, the migration
 * wait before it, and a writable /tmp next to any other volumes it mounts.
 */
function junctionDeployment(
  name: string,
  pod: {
    /** Left out where the HorizontalPodAutoscaler owns the count. */
    replicas?: number;
    strategy: object;
    annotations?: Record<string, string>;
    graceSeconds: number;
    container: object;
    volumes?: object[];
  },
) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: labels(name) },
    spec: {
      ...(pod.replicas === undefined ? {} : { replicas: pod.replicas }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selector(name) },
      strategy: pod.strategy,
      template: {
        metadata: { labels: labels(name), ...(pod.annotations ? { annotations: pod.annotations } : {}) },
        spec: {
          terminationGracePeriodSeconds: pod.graceSeconds,
          securityContext: podSecurity,
          initContainers: [waitForMigrations],
          containers: [pod.container],
          volumes: [...tmp.volumes, ...(pod.volumes ?? [])],
        },
      },
    },
  };
}

function deployment(service: Service) {
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: 'http' },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  });
  // No `replicas`: the HorizontalPodAutoscaler owns the count (minReplicas 2).
  return junctionDeployment(service.name, {
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    // For a Prometheus that discovers pods by the usual annotations.
    annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(service.port), 'prometheus.io/path': '/metrics' },
    graceSeconds: GRACE_SECONDS[service.role],
    container: {
      name: service.name,
      image: IMAGE,
      command: command(service.entry),
      ports: [{ name: 'http', containerPort: service.port }],
      envFrom,
      // The backup schedules run in the backup Deployment only, next to their volume.
      ...(service.role === 'workers' ? { env: [{ name: 'BACKUP_DUMP_EVERY_MS', value: '0' }] } : {}),
      resources: { requests: { cpu: service.cpu, memory: service.memory }, limits: { memory: '512Mi' } },
      // Up to a minute to start (loading the supergraph, connecting), then checked every 10 s.
      startupProbe: probe('/health', 2, 30),
      livenessProbe: probe('/health', 10, 3),
      // The gateway answers partial data (SERVICE_UNAVAILABLE naming the subgraph) while a subgraph is down, and it only
      // listens once the supergraph is loaded: it is ready while it serves. Its /ready, 503 while any subgraph is down,
      // would take every gateway pod out of its Service in one subgraph's outage; it stays for dashboards and `npm start`.
      readinessProbe: probe(service.role === 'gateway' ? '/health' : '/ready', 5, 2),
      lifecycle: { preStop: { exec: { command: ['sleep', String(PRE_STOP_SECONDS)] } } },
      securityContext: containerSecurity,
      volumeMounts: [tmp.mount],
    },
  });
}

function backupDeployment() {
  return junctionDeployment(BACKUP.name, {
    // One process makes the dumps and uploads them; no autoscaler, no disruption budget (a drain may move it).
    replicas: 1,
    // The old pod lets go of the ReadWriteOnce volume before the new one mounts it.
    strategy: { type: 'Recreate' },
    graceSeconds: BACKUP.graceSeconds,
    container: {
      name: BACKUP.name,
      image: IMAGE,
      command: command(BACKUP.entry),
      envFrom,
      env: [{ name: 'BACKUP_DIR', value: BACKUP.dir }],
      resources: { requests: { cpu: BACKUP.cpu, memory: BACKUP.memory }, limits: { memory: '512Mi' } },
      // No probes: workers/backup/main.ts serves no HTTP (a crash restarts the container; no readiness, as no Service sends it traffic).
      securityContext: containerSecurity,
      volumeMounts: [tmp.mount, { name: 'backups', mountPath: BACKUP.dir }],
    },
    volumes: [{ name: 'backups', persistentVolumeClaim: { claimName: BACKUP.claim } }],
  });
}

function backupVolumeClaim() {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: BACKUP.claim, labels: labels(BACKUP.name) },
    // The cluster's default StorageClass; set storageClassName in your overlay for another.
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: BACKUP.storage } } },
  };
}

function service(s: Service) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, labels: labels(s.name) },
    spec: { selector: selector(s.name), ports: [{ name: 'http', port: s.port, targetPort: 'http' }] },
  };
}

function disruptionBudget(s: Service) {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: s.name, labels: labels(s.name) },
    spec: { minAvailable: 1, selector: { matchLabels: selector(s.name) } },
  };
}

function autoscaler(s: Service) {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: s.name, labels: labels(s.name) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
      minReplicas: 2,
      maxReplicas: s.maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
      // Scale in slowly, so a short lull does not drop pods that the next burst needs.
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  };
}

function configMap() {
  const data: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    // In a pod the kubelet's probes and the other services come in on the pod's address, not the loopback.
    HOST: '0.0.0.0',
    QUEUE_PREFIX: 'junction',
  };
  for (const s of SERVICES) {
    data[s.portSetting] = String(s.port);
    if (s.urlSetting) data[s.urlSetting] = `http://${s.name}:${s.port}/graphql`;
  }
  // Your partners' addresses: the development overlay points them at the simulated ones.
  Object.assign(data, {
    ENRICHMENT_URL: 'https://enrichment.example.com',
    EVENT_REGISTRY_URL: 'https://registry.example.com',
    NOTIFY_URL: 'https://notify.example.com',
    BACKUP_URL: 'https://backup.example.com',
  });
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CONFIG_MAP, labels: labels('junction') }, data };
}

/** The keys the Secret must hold (deploy/kubernetes/base/secret.example.yaml shows its shape). */
export const SECRET_KEYS = ['DATABASE_URL', 'REDIS_URL', 'INGEST_API_KEY', 'SERVICE_API_KEY', 'AUTH_JWKS_URL', 'AUTH_ISSUER', 'AUTH_AUDIENCE'] as const;

function secretExample() {
  const stringData: Record<(typeof SECRET_KEYS)[number], string> = {
    DATABASE_URL: 'postgres://junction:CHANGE-ME@postgres.example.internal:5432/junction',
    REDIS_URL: 'redis://redis.example.internal:6379',
    INGEST_API_KEY: 'CHANGE-ME-ingest-key',
    SERVICE_API_KEY: 'CHANGE-ME-service-key-of-16-or-more',
    AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
    AUTH_ISSUER: 'https://idp.example.com/',
    AUTH_AUDIENCE: 'junction',
  };
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: SECRET, labels: labels('junction') }, type: 'Opaque', stringData };
}

function migrateJob() {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: MIGRATE_JOB, labels: labels(MIGRATE_JOB) },
    spec: {
      backoffLimit: 10,
      // Removed 10 minutes after it succeeds, so the next `kubectl apply -k` of a new image creates it again.
      ttlSecondsAfterFinished: 600,
      template: {
        metadata: { labels: labels(MIGRATE_JOB) },
        spec: {
          restartPolicy: 'OnFailure',
          securityContext: podSecurity,
          containers: [
            {
              name: 'migrate',
              image: IMAGE,
              command: command(MIGRATE.source),
              envFrom,
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
              securityContext: containerSecurity,
              volumeMounts: [tmp.mount],
            },
          ],
          volumes: tmp.volumes,
        },
      },
    },
  };
}

const HEADER = '# Generated by `npm run catalog` from scripts/catalog.ts and scripts/kubernetes/manifests.ts: edit those, not this file.\n';

function documents(...docs: object[]): string {
  return HEADER + docs.map((doc) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** Every file of deploy/kubernetes/base, by name, as `npm run kubernetes` writes it. */
export function baseFiles(): Record<string, string> {
  const files: Record<string, string> = {
    'config.yaml': documents(configMap()),
    'secret.example.yaml': documents(secretExample()),
    'migrate-job.yaml': documents(migrateJob()),
  };
  for (const s of SERVICES) files[`${s.name}.yaml`] = documents(deployment(s), service(s), disruptionBudget(s), autoscaler(s));
  files[`${BACKUP.name}.yaml`] = documents(backupDeployment(), backupVolumeClaim());
  const resources = ['config.yaml', 'migrate-job.yaml', ...SERVICES.map((s) => `${s.name}.yaml`), `${BACKUP.name}.yaml`];
  files['kustomization.yaml'] =
    HEADER +
    '# The Secret is not here: create it from secret.example.yaml with your values (docs/operations/kubernetes.md).\n' +
    stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources });
  return files;
}

/** The simulated partners and identity provider (external/) in the development overlay: one replica, never in the base. */
function developmentExternal(): string {
  const p = PROCESSES.find((x) => x.runs.kubernetes === 'development' && x.role === 'partners')!;
  const probe = (periodSeconds: number) => ({ httpGet: { path: p.health!, port: 'http' }, periodSeconds });
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: p.name, labels: labels(p.name) },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector(p.name) },
      template: {
        metadata: { labels: labels(p.name) },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          containers: [
            {
              name: p.name,
              image: IMAGE,
              command: command(p.source),
              ports: [{ name: 'http', containerPort: p.port!.default }],
              envFrom,
              resources: { requests: { cpu: p.scaling!.cpu, memory: p.scaling!.memory }, limits: { memory: '256Mi' } },
              readinessProbe: probe(5),
              livenessProbe: probe(10),
            },
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: p.name, labels: labels(p.name) },
    spec: { selector: selector(p.name), ports: [{ name: 'http', port: p.port!.default, targetPort: 'http' }] },
  };
  return documents(deployment, service).replace(HEADER, `${HEADER}# The simulated partner services and identity provider (external/), for development only.\n`);
}

/** Every generated file under deploy/kubernetes, by absolute path, as `npm run catalog` writes it. */
export function kubernetesFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, text] of Object.entries(baseFiles())) files[join(BASE_DIR, name)] = text;
  files[join(DEVELOPMENT_DIR, 'external.yaml')] = developmentExternal();
  return files;
}

/** Generated files under deploy/kubernetes that differ from what the generator writes (missing ones included). */
export function staleBaseFiles(): string[] {
  return Object.entries(kubernetesFiles())
    .filter(([path, text]) => !existsSync(path) || readFileSync(path, 'utf8') !== text)
    .map(([path]) => relative(PROJECT_ROOT, path));
}

export function writeBase(): void {
  for (const [path, text] of Object.entries(kubernetesFiles())) writeFileSync(path, text);
}
