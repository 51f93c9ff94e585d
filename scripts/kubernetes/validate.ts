/**
 * Validates Kubernetes objects against the Kubernetes API schemas shipped in
 * the npm package kubernetes-models (generated from Kubernetes' OpenAPI
 * spec), offline, twice over:
 * - its runtime validator per kind (ajv): required fields, types, enums, formats;
 * - its TypeScript interface per kind: every object is type-checked as a literal
 *   of `I<Kind>`, so a field the schema does not know (a misspelling such as
 *   `readinesProbe`) is an error, as with `kubectl apply --validate=strict`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from '../compose.ts';
import { idOf, type Rendered } from './kustomize.ts';

const require = createRequire(import.meta.url);
const MODELS_DIR = dirname(require.resolve('kubernetes-models/package.json'));

export interface Problem {
  /** `Kind/name` and the file it came from. */
  object: string;
  message: string;
}

/** The kubernetes-models module of an apiVersion and kind, e.g. `apps/v1/Deployment`; undefined when the package has none. */
export function modelPath(apiVersion: string, kind: string): string | undefined {
  if (!/^[A-Za-z0-9.-]+(\/[A-Za-z0-9]+)?$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  const path = `${apiVersion}/${kind}`;
  return existsSync(join(MODELS_DIR, `${path}.d.ts`)) ? path : undefined;
}

async function runtimeProblems(items: Rendered[]): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const { manifest, source } of items) {
    const object = `${idOf(manifest)} (${source})`;
    const path = modelPath(manifest.apiVersion, manifest.kind);
    if (!path) {
      problems.push({ object, message: `no Kubernetes schema for apiVersion ${manifest.apiVersion}, kind ${manifest.kind}` });
      continue;
    }
    const module = (await import(/* @vite-ignore */ `kubernetes-models/${path}`)) as Record<string, new (data: unknown) => { validate(): void }>;
    try {
      new module[manifest.kind]!(manifest).validate();
    } catch (error) {
      problems.push({ object, message: (error as Error).message });
    }
  }
  return problems;
}

/** Type-checks every object as a literal of its kind's interface in one in-memory TypeScript program. */
function typeProblems(items: Rendered[]): Problem[] {
  const known = items.filter(({ manifest }) => modelPath(manifest.apiVersion, manifest.kind));
  const paths = [...new Set(known.map(({ manifest }) => modelPath(manifest.apiVersion, manifest.kind)!))];
  const alias = (path: string) => `K${paths.indexOf(path)}`;
  const lines = paths.map((path) => `import type { I${path.split('/').pop()} as ${alias(path)} } from 'kubernetes-models/${path}';`);
  // One statement per line, so a diagnostic's line tells which object it is about.
  const firstLine = lines.length;
  for (const { manifest } of known)
    lines.push(`export const o${lines.length - firstLine}: ${alias(modelPath(manifest.apiVersion, manifest.kind)!)} = ${JSON.stringify(manifest)};`);

  const file = join(PROJECT_ROOT, 'deploy', 'kubernetes', '__validate__.ts');
  const options: ts.CompilerOptions = {
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const text = lines.join('\n');
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, text, language) : getSourceFile(name, language, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const line = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line : -1;
    const item = known[line - firstLine];
    const where = item && diagnostic.file?.fileName === file ? `${idOf(item.manifest)} (${item.source})` : (diagnostic.file?.fileName ?? 'TypeScript');
    return { object: where, message: ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ') };
  });
}

/** Every schema problem of these objects; empty when all are valid. */
export async function validateManifests(items: Rendered[]): Promise<Problem[]> {
  return [...(await runtimeProblems(items)), ...typeProblems(items)];
}
