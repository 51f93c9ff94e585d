import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import type { Logger } from '../../common/logger.ts';

export type OperationType = 'query' | 'mutation' | 'subscription';

/** One persisted operation: the id clients send, and the document it stands for. */
export interface ManifestOperation {
  id: string;
  /** The document, exactly as the manifest has it (the text a client sends must be identical). */
  body: string;
  name: string | null;
  type: OperationType;
}

/** A persisted-operations list, looked up by id and by text. */
export interface Manifest {
  format: 'apollo' | 'codegen';
  byId: ReadonlyMap<string, ManifestOperation>;
  byBody: ReadonlyMap<string, ManifestOperation>;
}

/** A manifest the gateway cannot take; the message says what is wrong with it. */
export class ManifestError extends Error {
  override name = 'ManifestError';
}

const APOLLO_FORMAT = 'apollo-persisted-query-manifest';
const EXPECTED = `expected Apollo's persisted query manifest ({"format":"${APOLLO_FORMAT}","version":1,"operations":[{"id","body","name","type"}]}) or GraphQL Code Generator's persisted-documents.json ({"<hash>":"<document>"})`;

/** The operation a body runs: its only one, or its first (a body is one operation and the fragments it spreads). */
function operationOf(body: string, where: string): OperationDefinitionNode {
  let operation: OperationDefinitionNode | undefined;
  try {
    operation = parse(body, { noLocation: true }).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  } catch (error) {
    throw new ManifestError(`${where}: the body is not GraphQL: ${(error as Error).message}`);
  }
  if (!operation) throw new ManifestError(`${where}: the body has no operation`);
  return operation;
}

function add(byId: Map<string, ManifestOperation>, byBody: Map<string, ManifestOperation>, operation: ManifestOperation, where: string): void {
  const known = byId.get(operation.id);
  if (known && known.body !== operation.body) throw new ManifestError(`${where}: id ${operation.id} is given to two different bodies`);
  byId.set(operation.id, operation);
  if (!byBody.has(operation.body)) byBody.set(operation.body, operation);
}

function fromApollo(manifest: Record<string, unknown>): Manifest {
  if (manifest.version !== 1) throw new ManifestError(`version ${JSON.stringify(manifest.version)} of ${APOLLO_FORMAT} is not supported: expected 1`);
  if (!Array.isArray(manifest.operations)) throw new ManifestError('"operations" is not a list');
  const byId = new Map<string, ManifestOperation>();
  const byBody = new Map<string, ManifestOperation>();
  manifest.operations.forEach((entry: unknown, index) => {
    const where = `operations[${index}]`;
    if (typeof entry !== 'object' || entry === null) throw new ManifestError(`${where} is not an object`);
    const { id, body, name, type } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || id === '') throw new ManifestError(`${where}: "id" is not a non-empty string`);
    if (typeof body !== 'string' || body === '') throw new ManifestError(`${where}: "body" is not a non-empty string`);
    if (type !== undefined && type !== 'query' && type !== 'mutation' && type !== 'subscription')
      throw new ManifestError(`${where}: "type" is not query, mutation or subscription`);
    const operation = operationOf(body, where);
    add(byId, byBody, { id, body, name: typeof name === 'string' ? name : (operation.name?.value ?? null), type: type ?? operation.operation }, where);
  });
  return { format: 'apollo', byId, byBody };
}

function fromCodegen(map: Record<string, unknown>): Manifest {
  const byId = new Map<string, ManifestOperation>();
  const byBody = new Map<string, ManifestOperation>();
  for (const [id, body] of Object.entries(map)) {
    const where = `"${id}"`;
    if (typeof body !== 'string' || body === '') throw new ManifestError(`${where}: the document is not a non-empty string`);
    const operation = operationOf(body, where);
    add(byId, byBody, { id, body, name: operation.name?.value ?? null, type: operation.operation }, where);
  }
  return { format: 'codegen', byId, byBody };
}

/**
 * Reads a persisted-operations manifest in either format: Apollo's
 * `apollo-persisted-query-manifest` (what @apollo/generate-persisted-query-manifest
 * and `npm run operations -- manifest` write) or GraphQL Code Generator's
 * persisted-documents.json (`{ "<hash>": "<document>" }`). Every body must
 * parse and hold an operation; an id may not name two bodies.
 */
export function parseManifest(text: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`not JSON (${(error as Error).message}); ${EXPECTED}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ManifestError(EXPECTED);
  const record = json as Record<string, unknown>;
  if (record.format === APOLLO_FORMAT) return fromApollo(record);
  if ('format' in record || 'operations' in record) throw new ManifestError(`format ${JSON.stringify(record.format)} is not known; ${EXPECTED}`);
  if (!Object.values(record).every((value) => typeof value === 'string')) throw new ManifestError(EXPECTED);
  return fromCodegen(record);
}

/** Reads and parses the manifest at `path` now (the gateway's start), with the text it was read from; ManifestError says what is wrong. */
export function readManifest(path: string): { manifest: Manifest; text: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ManifestError(`cannot read it: ${(error as Error).message}`);
  }
  return { manifest: parseManifest(text), text };
}

export interface ManifestWatch {
  close(): void;
}

/**
 * Watches the manifest at `path` (`loaded`: the text the gateway started with) and hands every later valid version to
 * `onLoad`, as supergraph-file.ts does for the supergraph. A version that
 * cannot be read or parsed (a half-written file, a bad edit) is logged and
 * ignored: the gateway keeps the last good one.
 */
export function watchManifest(path: string, loaded: string, logger: Logger, onLoad: (manifest: Manifest) => void, debounceMs = 100): ManifestWatch {
  let current = loaded;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const reload = async () => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      logger.error({ err: error, path }, 'cannot read OPERATIONS_MANIFEST; keeping the operations loaded before');
      return;
    }
    if (stopped || text === current) return;
    try {
      const manifest = parseManifest(text);
      current = text;
      onLoad(manifest);
      logger.info({ path, operations: manifest.byId.size, format: manifest.format }, 'persisted operations reloaded');
    } catch (error) {
      logger.error({ err: error, path }, `ignoring an invalid OPERATIONS_MANIFEST (${(error as Error).message}); keeping the operations loaded before`);
    }
  };
  // Watch the folder, not the file: editors and generators replace the file, which ends a file watch.
  const file = basename(path);
  const watcher: FSWatcher = watch(dirname(path), (_event, name) => {
    if (name !== null && name.toString() !== file) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  });
  watcher.on('error', (error) => logger.error({ err: error, path }, 'OPERATIONS_MANIFEST watch failed; reloading is off'));
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}
