/**
 * examples/web built when needed: its dependencies installed when missing
 * (`npm ci --prefix examples/web`), and dist/ rebuilt when anything it is made
 * from changed since the last build (a hash of those files, kept in dist/).
 * `npm run example:web` and the browser tests call it before serving the app.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from './compose.ts';

export const WEB_DIR = join(PROJECT_ROOT, 'examples', 'web');
export const WEB_DIST = join(WEB_DIR, 'dist');
/** The app's persisted operations (GraphQL Code Generator's persisted-documents.json): the gateway's OPERATIONS_MANIFEST for it. */
export const WEB_MANIFEST = join(WEB_DIR, 'src', 'gql', 'persisted-documents.json');
/** The server of the built app (node examples/web/serve.js; WEB_PORT, GATEWAY_URL, IDENTITY_URL). */
export const WEB_SERVER = join(WEB_DIR, 'serve.js');

const INPUTS = ['src', 'public', 'index.html', 'vite.config.ts', 'tsconfig.json', 'tsconfig.app.json', 'package.json', 'package-lock.json'];
const STAMP = '.junction-build';

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => filesUnder(join(path, entry)));
}

/** A digest of every file the build is made from, names included. */
export function webInputsDigest(): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((input) => filesUnder(join(WEB_DIR, input)))) {
    hash.update(relative(WEB_DIR, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/** Whether dist/ was built from the sources as they are now. */
export function webBuildIsCurrent(): boolean {
  const stamp = join(WEB_DIST, STAMP);
  return existsSync(join(WEB_DIST, 'index.html')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === webInputsDigest();
}

function run(command: string, args: string[], say: (line: string) => void): Promise<void> {
  say(`${command} ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.slice(-4000)}`))));
  });
}

/** Installs and builds examples/web when needed; says what it does. */
export async function ensureWebBuilt(say: (line: string) => void = () => {}): Promise<void> {
  if (!existsSync(join(WEB_DIR, 'node_modules', '.package-lock.json'))) {
    await run('npm', ['ci', '--prefix', WEB_DIR, '--no-audit', '--no-fund'], say);
  }
  if (webBuildIsCurrent()) return;
  const digest = webInputsDigest();
  // Built aside, then swapped in, so a server reading dist/ never sees half a build.
  const aside = join(WEB_DIR, `dist-${process.pid}-${Date.now()}`);
  try {
    await run('npm', ['run', 'build', '--prefix', WEB_DIR, '--', '--outDir', aside], say);
    writeFileSync(join(aside, STAMP), digest);
    rmSync(WEB_DIST, { recursive: true, force: true });
    renameSync(aside, WEB_DIST);
  } finally {
    rmSync(aside, { recursive: true, force: true });
  }
}
