/**
 * Persisted documents: every operation the app sends is in
 * src/gql/persisted-documents.json (written by `npm run codegen`), and each
 * generated document carries its id there as `__meta__.hash` ("sha256:<hex>").
 *
 * The app sends an operation by that id (Apollo's `extensions.persistedQuery`,
 * what a gateway's safelist and APQ read) and, when it has to send the text,
 * the manifest's text for that id, byte for byte, so the sha256 of the text is
 * the id: a gateway with OPERATIONS_SAFELIST=enforce finds it either way.
 */
import type { DocumentNode } from 'graphql';
import { getOperationAST } from 'graphql';
import manifest from './gql/persisted-documents.json';

const texts: Readonly<Record<string, string>> = manifest;

/** The manifest id of a generated document; an operation written any other way has none. */
export function persistedIdOf(document: DocumentNode): string {
  const id = (document as DocumentNode & { __meta__?: { hash?: unknown } }).__meta__?.hash;
  if (typeof id === 'string' && id in texts) return id;
  const name = getOperationAST(document)?.name?.value ?? 'an anonymous operation';
  throw new Error(`${name} is not in src/gql/persisted-documents.json: write it with graphql() under src/ and run npm run codegen`);
}

/** The text the manifest holds for a document, exactly. */
export function persistedTextOf(document: DocumentNode): string {
  return texts[persistedIdOf(document)]!;
}

/** The id as APQ's `sha256Hash` carries it: the hex digest, without the "sha256:" prefix. */
export function sha256HashOf(document: DocumentNode): string {
  return persistedIdOf(document).replace(/^sha256:/, '');
}
