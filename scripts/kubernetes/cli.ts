/**
 *   npm run kubernetes              writes deploy/kubernetes/base from scripts/kubernetes/manifests.ts (as npm run catalog does)
 *   npm run kubernetes -- --check   fails when the committed base is stale, or when the rendered base,
 *                                   an overlay or the Secret example breaks the Kubernetes schemas
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../compose.ts';
import { readManifests, renderKustomization, type Rendered } from './kustomize.ts';
import { BASE_DIR, KUBERNETES_DIR, staleBaseFiles, writeBase } from './manifests.ts';
import { validateManifests } from './validate.ts';

/** The base, every overlay and the Secret example, rendered. */
export function renderAll(): Record<string, Rendered[]> {
  const overlays = join(KUBERNETES_DIR, 'overlays');
  const rendered: Record<string, Rendered[]> = { base: renderKustomization(BASE_DIR) };
  for (const name of readdirSync(overlays)) rendered[`overlays/${name}`] = renderKustomization(join(overlays, name));
  rendered['base/secret.example.yaml'] = readManifests(join(BASE_DIR, 'secret.example.yaml'));
  return rendered;
}

const main = import.meta.url === pathToFileURL(process.argv[1] ?? '').href;

if (main && process.argv.includes('--check')) {
  let failed = false;
  const stale = staleBaseFiles();
  if (stale.length > 0) {
    failed = true;
    console.error(`stale (run npm run kubernetes): ${stale.join(', ')}`);
  }
  const rendered = renderAll();
  // One validation of everything: the TypeScript check is one program however many objects.
  const all = Object.entries(rendered).flatMap(([name, items]) => items.map((r) => ({ ...r, source: `${name}: ${relative(PROJECT_ROOT, r.source)}` })));
  const problems = await validateManifests(all);
  for (const p of problems) console.error(`${p.object}: ${p.message}`);
  if (problems.length > 0) failed = true;
  for (const [name, items] of Object.entries(rendered)) console.log(`${name}: ${items.length} objects${problems.length > 0 ? '' : ', all valid'}`);
  process.exit(failed ? 1 : 0);
} else if (main) {
  writeBase();
  console.log(`wrote ${relative(PROJECT_ROOT, BASE_DIR)}`);
}
