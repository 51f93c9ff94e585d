/**
 * The catalog of Junction's processes: the one list of what runs, from which
 * `npm start` (scripts/start.ts reads it), docker-compose.yml and the
 * Kubernetes base (deploy/kubernetes) are made. `npm run catalog` writes the
 * generated files; `npm run catalog -- --check` (CI) fails when one is stale.
 *
 * This file is data only: it imports no process's code, so the launcher and
 * the generators load no subgraph. test/catalog.test.ts checks it against the
 * code (every entry file exists, every subgraph of subgraphs/index.ts is here
 * with its port and URL settings, every setting named is one some process reads).
 */

/** What a process is: the roles decide its probes, grace period and where it runs. */
export type Role = 'partners' | 'subgraph' | 'workers' | 'gateway' | 'backup' | 'task' | 'web';

/** Resources of one pod and how far the HorizontalPodAutoscaler may scale it (minimum 2 replicas). */
export interface Scaling {
  /** Requests per pod, which the autoscaler's CPU target is measured against. */
  cpu: string;
  memory: string;
  /** Omitted for a process that runs as one replica (no autoscaler). */
  maxReplicas?: number;
  /** Why it scales the way it does, for the reader of the catalog. */
  note: string;
}

export interface Process {
  name: string;
  role: Role;
  /** Entry file, relative to the project root: run under tsx by `npm start`. */
  source: string;
  /** What it is, one line. */
  description: string;
  /** The setting naming the port it listens on (every interface), and its default; none for a process that serves no HTTP. */
  port?: { setting: string; default: number };
  /** The setting through which the others reach it (a subgraph's GraphQL URL). */
  urlSetting?: string;
  /** Liveness (/health) and readiness (/ready) paths. */
  health?: string;
  ready?: string;
  /** The settings it cannot run without (beyond its port); the rest have usable defaults. */
  needs: readonly string[];
  /** Processes that must be up (healthy) before it starts. */
  dependsOn: readonly string[];
  /** Where it runs: the development launcher (npm start), docker-compose.yml, the Kubernetes base or only its development overlay. */
  runs: { launcher?: true; compose?: true; kubernetes?: 'base' | 'development' };
  /** Kubernetes requests and scaling (for those that run there). */
  scaling?: Scaling;
  /** Ports docker-compose.yml publishes on the host, with why. */
  publish?: { ports: string[]; why: string };
  /** What `npm start` prints once ready, `{base}` being the process's local URL. */
  show?: string;
}

const SUBGRAPH_NEEDS = ['DATABASE_URL', 'REDIS_URL', 'AUTH_JWKS_URL', 'SERVICE_API_KEY'] as const;
const subgraphScaling: Scaling = { cpu: '100m', memory: '192Mi', maxReplicas: 6, note: 'stateless: any number of replicas behind its Service, scaled on CPU' };

function subgraph(name: string, port: number, needs: readonly string[] = []): Process {
  const upper = name.toUpperCase();
  return {
    name,
    role: 'subgraph',
    source: `subgraphs/${name}/index.ts`,
    description: `the ${name} subgraph (GraphQL at /graphql)`,
    port: { setting: `${upper}_PORT`, default: port },
    urlSetting: `${upper}_URL`,
    health: '/health',
    ready: '/ready',
    needs: [...SUBGRAPH_NEEDS, ...needs],
    dependsOn: [],
    runs: { launcher: true, compose: true, kubernetes: 'base' },
    scaling: subgraphScaling,
    show: '{base}/graphql',
  };
}

/**
 * The subgraphs of subgraphs/index.ts, in its order (test/catalog.test.ts holds
 * them in step), with their default ports: the gateway reads their port and URL
 * settings (USERS_PORT, USERS_URL, …) from here, knowing subgraphs by URL only.
 */
export const SUBGRAPH_PROCESSES = [
  { name: 'users', port: 4001, needs: ['ENRICHMENT_URL'] },
  { name: 'events', port: 4002, needs: ['EVENT_REGISTRY_URL'] },
  { name: 'inventory', port: 4004, needs: [] },
  { name: 'orders', port: 4003, needs: [] },
  { name: 'notifications', port: 4005, needs: ['INGEST_API_KEY'] },
] as const;

/** Every long-running process, in start order: the gateway last, once everything it routes to is on its way. */
export const PROCESSES: readonly Process[] = [
  {
    name: 'external',
    role: 'partners',
    source: 'external/index.ts',
    description: 'the simulated partner services and the development identity provider (development only)',
    port: { setting: 'EXTERNAL_PORT', default: 4010 },
    health: '/health',
    needs: [],
    dependsOn: [],
    runs: { launcher: true, compose: true, kubernetes: 'development' },
    scaling: { cpu: '50m', memory: '128Mi', note: 'one replica: a stand-in for partners, never deployed to production' },
    publish: { ports: ['127.0.0.1:4010:4010'], why: 'Published on the loopback only, for chaos during demos (POST /_chaos/{service}).' },
    show: '{base}  (simulated partners; chaos at {base}/_chaos/{service})',
  },
  ...SUBGRAPH_PROCESSES.map((s) => subgraph(s.name, s.port, s.needs)),
  {
    name: 'workers',
    role: 'workers',
    source: 'workers/index.ts',
    description: 'the BullMQ workers (orders, notifications, outbox relay, backups), Bull Board and their /metrics',
    port: { setting: 'WORKERS_PORT', default: 4020 },
    health: '/health',
    ready: '/ready',
    needs: ['DATABASE_URL', 'REDIS_URL', 'INVENTORY_URL', 'NOTIFY_URL', 'BACKUP_URL', 'SERVICE_API_KEY', 'AUTH_JWKS_URL'],
    dependsOn: ['inventory', 'external'],
    runs: { launcher: true, compose: true, kubernetes: 'base' },
    scaling: {
      cpu: '200m',
      memory: '256Mi',
      maxReplicas: 8,
      note: 'competing consumers of the queues: add replicas for throughput; the backup schedules run in the backup process instead',
    },
    publish: { ports: ['127.0.0.1:4020:4020'], why: 'Bull Board at http://localhost:4020/admin/queues, on the loopback only.' },
    show: '{base}/admin/queues  (Bull Board; /metrics, /health)',
  },
  {
    name: 'gateway',
    role: 'gateway',
    source: 'gateway/index.ts',
    description: 'the federated gateway: the one GraphQL endpoint clients use (/graphql, subscriptions over WebSocket and SSE)',
    port: { setting: 'GATEWAY_PORT', default: 4000 },
    health: '/health',
    ready: '/ready',
    needs: ['USERS_URL', 'EVENTS_URL', 'INVENTORY_URL', 'ORDERS_URL', 'NOTIFICATIONS_URL', 'REDIS_URL', 'AUTH_JWKS_URL'],
    dependsOn: ['users', 'events', 'orders', 'inventory', 'notifications'],
    runs: { launcher: true, compose: true, kubernetes: 'base' },
    scaling: {
      cpu: '250m',
      memory: '256Mi',
      maxReplicas: 10,
      note: 'stateless: scaled on CPU; subscriptions fan out through Redis, so any replica serves any client',
    },
    publish: { ports: ['4000:4000'], why: 'The one public port: http://localhost:4000/graphql.' },
    show: '{base}/graphql',
  },
  {
    name: 'backup',
    role: 'backup',
    source: 'workers/backup/main.ts',
    description: 'the backup schedules (pg_dump every BACKUP_DUMP_EVERY_MS, the daily upload) beside their volume; serves no HTTP',
    needs: ['DATABASE_URL', 'REDIS_URL', 'BACKUP_URL', 'BACKUP_DIR'],
    dependsOn: [],
    // Under npm start and compose the workers process runs the backup schedules itself.
    runs: { kubernetes: 'base' },
    scaling: { cpu: '100m', memory: '256Mi', note: 'one replica, replaced with Recreate: its ReadWriteOnce volume attaches to one node at a time' },
  },
  {
    name: 'web',
    role: 'web',
    source: 'examples/web/serve.js',
    description: 'the example web app, its own origin (npm run example:web only)',
    port: { setting: 'WEB_PORT', default: 4030 },
    needs: [],
    dependsOn: ['gateway'],
    runs: {},
    show: '{base}/  (the example store: sign up, order, watch it confirm live)',
  },
];

/** The subgraphs' names, in start order: each may have a database of its own (`<NAME>_DATABASE_URL`, common/databases.ts). */
export const SUBGRAPH_NAMES: readonly string[] = PROCESSES.filter((p) => p.role === 'subgraph').map((p) => p.name);

/** One-off commands: the migrations, run before any process starts (compose's migrate service, the Kubernetes Job and init container). */
export const MIGRATE = {
  name: 'migrate',
  role: 'task',
  source: 'scripts/migrate.ts',
  description: 'applies the database migrations to every distinct database (`--wait`: waits until they are applied, applying none)',
  needs: ['DATABASE_URL'],
} as const;

/** The compiled file of a source entry, as `npm run build` writes it (tsconfig.build.json, outDir dist). */
export function compiledEntry(source: string, outDir = 'dist'): string {
  return `${outDir}/${source.replace(/\.ts$/, '.js')}`;
}

export function processNamed(name: string): Process {
  const found = PROCESSES.find((p) => p.name === name);
  if (!found) throw new Error(`no process named ${name} in scripts/catalog.ts`);
  return found;
}

/** The processes `npm start` runs, in start order (`web` with --with-web). */
export function launcherProcesses(withWeb: boolean): Process[] {
  return PROCESSES.filter((p) => p.runs.launcher || (withWeb && p.name === 'web'));
}

/**
 * How the image (Dockerfile) runs a process: its compiled entry under plain
 * node, with production dependencies only (no tsx). docker-compose.yml and the
 * Kubernetes manifests both use it; test/build.int.test.ts builds and runs them.
 */
export function imageCommand(source: string, ...args: string[]): string[] {
  return ['node', compiledEntry(source), ...args];
}
