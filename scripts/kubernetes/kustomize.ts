/**
 * Renders a kustomization the way `kustomize build` does, for the subset of
 * kustomize that deploy/kubernetes uses: `resources` (files and folders),
 * `patches` of maps (a strategic-merge patch without lists, e.g. ConfigMap
 * data) and `images`. Anything else is refused rather than rendered wrongly.
 * No kustomize is installable from npm; where kubectl is on the machine the
 * test compares this rendering with `kubectl kustomize`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Where a document came from, for error messages. */
export interface Rendered {
  manifest: Manifest;
  source: string;
}

const kustomizationSchema = z.strictObject({
  apiVersion: z.literal('kustomize.config.k8s.io/v1beta1').optional(),
  kind: z.literal('Kustomization').optional(),
  resources: z.array(z.string()).default([]),
  patches: z.array(z.strictObject({ path: z.string() })).default([]),
  images: z.array(z.strictObject({ name: z.string(), newName: z.string().optional(), newTag: z.string().optional() })).default([]),
});

export class KustomizeError extends Error {
  override name = 'KustomizeError';
}

/** Every document of a YAML file; a document that is not a Kubernetes object is an error. */
export function readManifests(file: string): Rendered[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  return docs
    .map((doc, index) => {
      if (doc.errors.length > 0) throw new KustomizeError(`${file} (document ${index + 1}): ${doc.errors[0]!.message}`);
      return doc.toJS() as unknown;
    })
    .filter((value) => value !== null && value !== undefined)
    .map((value) => {
      const manifest = value as Partial<Manifest>;
      if (typeof manifest.apiVersion !== 'string' || typeof manifest.kind !== 'string' || typeof manifest.metadata?.name !== 'string') {
        throw new KustomizeError(`${file}: every document needs apiVersion, kind and metadata.name`);
      }
      return { manifest: manifest as Manifest, source: file };
    });
}

function kustomizationFile(dir: string): string {
  for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new KustomizeError(`${dir} has no kustomization.yaml`);
}

export const idOf = (m: Manifest) => `${m.kind}/${m.metadata.name}`;

/** Merges `patch` into `target` (maps merged key by key, null deletes, scalars replace); lists are refused. */
function merge(target: Record<string, unknown>, patch: Record<string, unknown>, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (Array.isArray(value)) throw new KustomizeError(`${where}: patches of lists (${key}) are not supported by this renderer`);
    if (value === null) delete out[key];
    else if (typeof value === 'object' && typeof out[key] === 'object' && out[key] !== null && !Array.isArray(out[key])) {
      out[key] = merge(out[key] as Record<string, unknown>, value as Record<string, unknown>, `${where}.${key}`);
    } else out[key] = value;
  }
  return out;
}

function setImages(value: unknown, images: z.infer<typeof kustomizationSchema>['images']): unknown {
  if (Array.isArray(value)) return value.map((item) => setImages(item, images));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'image' && typeof child === 'string') {
      const [name, tag] = child.split(/:(?=[^/]*$)/);
      const rule = images.find((image) => image.name === name);
      out[key] = rule ? `${rule.newName ?? name}${(rule.newTag ?? tag) ? `:${rule.newTag ?? tag}` : ''}` : child;
    } else out[key] = setImages(child, images);
  }
  return out;
}

/** The documents `kustomize build <dir>` would print, in resource order. */
export function renderKustomization(dir: string): Rendered[] {
  const file = kustomizationFile(dir);
  const parsed = kustomizationSchema.safeParse(readManifestsRaw(file));
  if (!parsed.success) throw new KustomizeError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  const k = parsed.data;
  let out: Rendered[] = [];
  for (const resource of k.resources) {
    const path = resolve(dir, resource);
    if (!existsSync(path)) throw new KustomizeError(`${file}: resource ${resource} does not exist`);
    out.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readManifests(path)));
  }
  const seen = new Set<string>();
  for (const { manifest, source } of out) {
    if (seen.has(idOf(manifest))) throw new KustomizeError(`${source}: ${idOf(manifest)} is defined twice`);
    seen.add(idOf(manifest));
  }
  for (const patch of k.patches) {
    const patchFile = resolve(dir, patch.path);
    for (const { manifest: p } of readManifests(patchFile)) {
      const index = out.findIndex((r) => idOf(r.manifest) === idOf(p) && r.manifest.apiVersion === p.apiVersion);
      if (index < 0) throw new KustomizeError(`${patchFile}: patch target ${idOf(p)} is not among the resources`);
      out[index] = { manifest: merge(out[index]!.manifest, p, idOf(p)) as Manifest, source: `${out[index]!.source} + ${patchFile}` };
    }
  }
  if (k.images.length > 0) out = out.map((r) => ({ ...r, manifest: setImages(r.manifest, k.images) as Manifest }));
  return out;
}

function readManifestsRaw(file: string): unknown {
  const [doc] = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!doc || doc.errors.length > 0) throw new KustomizeError(`${file}: ${doc?.errors[0]?.message ?? 'empty'}`);
  return doc.toJS();
}
