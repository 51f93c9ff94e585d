import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { RequestHandler } from 'express';
import { GraphQLError } from 'graphql';
import { ADMIN_ROLE, viewerOf, type Viewer } from '../../common/auth.ts';
import { ConfigError } from '../../common/config.ts';
import type { GatewayConfig as Config } from '../settings.ts';
import type { Logger } from '../../common/logger.ts';
import { counter } from '../../common/metrics.ts';
import { gatewayMetrics } from '../metrics.ts';
import { ManifestError, readManifest, watchManifest, type Manifest, type ManifestOperation } from './manifest.ts';

export type SafelistMode = Config['OPERATIONS_SAFELIST'];
type SafelistSettings = Pick<Config, 'OPERATIONS_MANIFEST' | 'OPERATIONS_SAFELIST'>;

/** Distinct operations outside the manifest that `log` mode logs the text of; later ones are only counted. */
const MAX_LOGGED_UNLISTED = 1000;

const metrics = {
  listed: counter({
    name: 'junction_gateway_persisted_operations_total',
    help: 'Requests for an operation of OPERATIONS_MANIFEST, by its id and name, and whether it was sent by id or by its text.',
    labelNames: ['id', 'name', 'sent_as'],
  }),
  unlisted: counter({
    name: 'junction_gateway_unlisted_operations_total',
    help: 'Requests for an operation not in OPERATIONS_MANIFEST (counted while a manifest is loaded), by outcome: run (off, log), refused (enforce, require-id), exempt (an admin).',
    labelNames: ['outcome'],
  }),
};

/** The persisted-operations list of one gateway and what it does with operations outside it. */
export interface Safelist {
  readonly mode: SafelistMode;
  /** The manifest in force (the last good version of OPERATIONS_MANIFEST); undefined when none is set. */
  manifest(): Manifest | undefined;
  /** Whether Apollo Server may register automatic persisted queries: not in `enforce` and `require-id`. */
  readonly apq: boolean;
  close(): void;
}

/**
 * Loads OPERATIONS_MANIFEST (relative to the working directory unless
 * absolute) and reloads it when the file changes. A manifest that cannot be
 * read or parsed at start is a ConfigError naming OPERATIONS_MANIFEST (the
 * gateway does not start); a bad edit later is logged and the last good list kept.
 */
export function createSafelist(settings: SafelistSettings, logger: Logger): Safelist {
  const mode = settings.OPERATIONS_SAFELIST;
  const apq = mode === 'off' || mode === 'log';
  if (settings.OPERATIONS_MANIFEST === '') return { mode, apq, manifest: () => undefined, close() {} };
  const path = resolve(settings.OPERATIONS_MANIFEST);
  let loaded: ReturnType<typeof readManifest>;
  try {
    loaded = readManifest(path);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    throw new ConfigError(`invalid configuration: OPERATIONS_MANIFEST=${JSON.stringify(settings.OPERATIONS_MANIFEST)}: ${error.message}`);
  }
  let current = loaded.manifest;
  const watch = watchManifest(path, loaded.text, logger, (manifest) => {
    current = manifest;
  });
  logger.info({ path, operations: current.byId.size, format: current.format, mode }, 'persisted operations loaded');
  return { mode, apq, manifest: () => current, close: () => watch.close() };
}

/** What a client sent, as GraphQL over HTTP (and GraphQL over SSE or WebSocket) carries it. */
export interface OperationRequest {
  query?: unknown;
  operationName?: unknown;
  extensions?: unknown;
}

/**
 * The safelist's verdict on one request. `ok`: run it with `query` and
 * `extensions` (the manifest's text when it was sent by id, and without the
 * `persistedQuery` extension once the gateway resolved it). Otherwise answer
 * `error` (its extensions carry the code and `http.status`) without parsing
 * or planning anything.
 */
export type OperationCheck =
  | { ok: true; query: unknown; extensions: unknown; listed?: ManifestOperation }
  | { ok: false; error: GraphQLError; status: number; headers?: Record<string, string> };

function refusal(code: 'PERSISTED_QUERY_NOT_IN_LIST' | 'PERSISTED_QUERY_ID_REQUIRED', message: string): OperationCheck {
  gatewayMetrics.errors.inc({ code });
  metrics.unlisted.inc({ outcome: 'refused' });
  return { ok: false, status: 400, error: new GraphQLError(message, { extensions: { code, http: { status: 400 } } }) };
}

/** What Apollo Server answers a hash it does not know, so clients fall back to sending the text as they do for APQ. */
function notFound(): OperationCheck {
  gatewayMetrics.errors.inc({ code: 'PERSISTED_QUERY_NOT_FOUND' });
  return {
    ok: false,
    status: 200,
    headers: { 'cache-control': 'private, no-cache, must-revalidate' },
    error: new GraphQLError('PersistedQueryNotFound', { extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 200 } } }),
  };
}

function withoutPersistedQuery(extensions: Record<string, unknown>): Record<string, unknown> | undefined {
  const { persistedQuery: _, ...rest } = extensions;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The id a request names: `extensions.persistedQuery.sha256Hash` (APQ and manifest ids alike). */
function idOf(extensions: unknown): string | undefined {
  if (!isRecord(extensions) || !isRecord(extensions.persistedQuery)) return undefined;
  const { version, sha256Hash } = extensions.persistedQuery;
  return version === 1 && typeof sha256Hash === 'string' && sha256Hash !== '' ? sha256Hash : undefined;
}

const loggedUnlisted = new WeakMap<Safelist, Set<string>>();

function logUnlisted(safelist: Safelist, logger: Logger, text: string, operationName: unknown): void {
  let seen = loggedUnlisted.get(safelist);
  if (!seen) loggedUnlisted.set(safelist, (seen = new Set()));
  if (seen.size >= MAX_LOGGED_UNLISTED) return;
  const sha256 = createHash('sha256').update(text).digest('hex');
  if (seen.has(sha256)) return;
  seen.add(sha256);
  logger.warn(
    { operationName: typeof operationName === 'string' ? operationName : null, sha256, query: text.length > 4000 ? `${text.slice(0, 4000)}…` : text },
    'operation not in OPERATIONS_MANIFEST ran (OPERATIONS_SAFELIST=log); add it to the manifest before turning on enforce',
  );
}

/**
 * The safelist's check of one operation, before anything is parsed or
 * planned (docs/api/persisted-operations.md): the gateway's /graphql runs it
 * on every GET and POST, and the subscription transports call it with what
 * the client subscribed with. Sent by a manifest id, the operation is the
 * manifest's text in every mode. Otherwise, by OPERATIONS_SAFELIST:
 * - `off`: anything runs (a hash it does not know is Apollo's APQ, in Redis);
 * - `log`: the same, and text outside the manifest is counted and logged once;
 * - `enforce`: only text identical to a manifest body; any other text is
 *   PERSISTED_QUERY_NOT_IN_LIST (400), an unknown hash alone PERSISTED_QUERY_NOT_FOUND
 *   (so an APQ client sends the text, which is then checked);
 * - `require-id`: only manifest ids; text is PERSISTED_QUERY_ID_REQUIRED (400),
 *   an unknown id PERSISTED_QUERY_NOT_IN_LIST (400).
 * An admin's operations are never refused, so operators keep Apollo Sandbox.
 */
export function checkOperation(safelist: Safelist, request: OperationRequest, viewer: Viewer | null, logger?: Logger): OperationCheck {
  const manifest = safelist.manifest();
  const { query, extensions } = request;
  const pass: OperationCheck = { ok: true, query, extensions };
  if (!manifest) return pass;
  const id = idOf(extensions);
  const text = typeof query === 'string' && query !== '' ? query : undefined;
  const enforcing = safelist.mode === 'enforce' || safelist.mode === 'require-id';
  const admin = viewer?.roles.includes(ADMIN_ROLE) ?? false;

  if (text === undefined) {
    if (id === undefined) return pass;
    const listed = manifest.byId.get(id);
    if (listed) {
      metrics.listed.inc({ id: listed.id, name: listed.name ?? '(anonymous)', sent_as: 'id' });
      return { ok: true, query: listed.body, extensions: withoutPersistedQuery(extensions as Record<string, unknown>), listed };
    }
    if (!enforcing || admin) {
      metrics.unlisted.inc({ outcome: enforcing ? 'exempt' : 'run' });
      return pass;
    }
    return safelist.mode === 'enforce'
      ? notFound()
      : refusal('PERSISTED_QUERY_NOT_IN_LIST', `No operation of the persisted-operations list has the id ${id} (OPERATIONS_SAFELIST=require-id).`);
  }

  const listed = manifest.byBody.get(text);
  const byId = id === undefined ? undefined : manifest.byId.get(id);
  if (listed && (safelist.mode !== 'require-id' || byId === listed)) {
    metrics.listed.inc({ id: listed.id, name: listed.name ?? '(anonymous)', sent_as: byId === listed ? 'id' : 'text' });
    // Enforcing, APQ is off: the gateway has resolved the operation, Apollo Server must not see a hash.
    return enforcing && isRecord(extensions) ? { ok: true, query: text, extensions: withoutPersistedQuery(extensions), listed } : { ...pass, listed };
  }
  if (!enforcing || admin) {
    metrics.unlisted.inc({ outcome: enforcing ? 'exempt' : 'run' });
    if (safelist.mode === 'log' && logger) logUnlisted(safelist, logger, text, request.operationName);
    // An admin's text runs as it is; enforcing, Apollo Server has APQ off and would refuse the hash beside it.
    return enforcing && isRecord(extensions) ? { ok: true, query: text, extensions: withoutPersistedQuery(extensions) } : pass;
  }
  if (safelist.mode === 'enforce' || id !== undefined) {
    return refusal('PERSISTED_QUERY_NOT_IN_LIST', `This operation is not in the gateway's persisted-operations list (OPERATIONS_SAFELIST=${safelist.mode}).`);
  }
  return refusal(
    'PERSISTED_QUERY_ID_REQUIRED',
    'This gateway runs persisted operations sent by id only (OPERATIONS_SAFELIST=require-id): send extensions.persistedQuery.sha256Hash with the id from the manifest, and no query text.',
  );
}

/** Parses a GET parameter holding JSON; undefined when absent or not JSON (Apollo Server then refuses the request itself). */
function jsonParam(value: string | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/**
 * Express middleware for /graphql (after the body parser): checkOperation on
 * each GET and POST; a refusal is answered here, before Apollo Server parses
 * anything, and an operation sent by manifest id reaches Apollo Server as its text.
 */
export function safelistMiddleware(safelist: Safelist, logger: Logger): RequestHandler {
  return (req, res, next) => {
    if (!safelist.manifest()) return next();
    let request: OperationRequest;
    let params: URLSearchParams | undefined;
    if (req.method === 'POST') {
      if (!isRecord(req.body)) return next();
      request = req.body;
    } else if (req.method === 'GET') {
      const at = req.url.indexOf('?');
      params = new URLSearchParams(at === -1 ? '' : req.url.slice(at + 1));
      // Several values of one parameter: Apollo Server refuses the request.
      if (params.getAll('query').length > 1 || params.getAll('extensions').length > 1) return next();
      request = {
        query: params.get('query') ?? undefined,
        operationName: params.get('operationName') ?? undefined,
        extensions: jsonParam(params.get('extensions')),
      };
    } else return next();

    const check = checkOperation(safelist, request, viewerOf(res), logger);
    if (!check.ok) {
      for (const [name, value] of Object.entries(check.headers ?? {})) res.setHeader(name, value);
      res.status(check.status).json({ errors: [{ message: check.error.message, extensions: { code: check.error.extensions.code } }] });
      return;
    }
    if (check.query === request.query && check.extensions === request.extensions) return next();
    if (params) {
      params.set('query', String(check.query));
      if (check.extensions === undefined) params.delete('extensions');
      else params.set('extensions', JSON.stringify(check.extensions));
      req.url = `${req.url.slice(0, req.url.indexOf('?'))}?${params.toString()}`;
    } else {
      const { extensions: _, ...body } = req.body as Record<string, unknown>;
      req.body = { ...body, query: check.query, ...(check.extensions === undefined ? {} : { extensions: check.extensions }) };
    }
    next();
  };
}
