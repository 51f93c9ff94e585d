/**
 * GraphQL Code Generator's client preset: typed documents for every
 * `graphql(...)` call under src/, and src/gql/persisted-documents.json, the
 * manifest of those operations (sha256 ids) that the gateway's safelist loads
 * (OPERATIONS_MANIFEST). Both are committed:
 *
 *   npm run codegen              regenerates them
 *   npm run codegen -- --check   exits 1 when a committed file is stale
 *
 * The schema is the API schema of Junction's committed supergraph (what
 * clients see through the gateway: no @inaccessible fields, no federation
 * plumbing). An app on another Junction points `schema` at its gateway
 * (introspection) or at a copy of its supergraph.
 */
import { readFileSync } from 'node:fs';
import { Supergraph, printSchema } from '@apollo/federation-internals';
import type { CodegenConfig } from '@graphql-codegen/cli';
import { addTypenameSelectionDocumentTransform } from '@graphql-codegen/client-preset';

const supergraph = readFileSync(new URL('../../supergraph.graphql', import.meta.url), 'utf8');
const apiSchema = printSchema(Supergraph.build(supergraph).apiSchema());

const config: CodegenConfig = {
  schema: apiSchema,
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**'],
  ignoreNoDocuments: false,
  overwrite: true,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        // Each document carries its id (document.__meta__.hash, "sha256:<hex>"); the manifest maps ids to texts.
        persistedDocuments: { hashAlgorithm: 'sha256' },
        fragmentMasking: false,
      },
      // Apollo Client's cache adds __typename to what it sends: adding it here keeps the texts the manifest holds
      // identical to what the client sends (docs: the-guild.dev/graphql/codegen/plugins/presets/preset-client).
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        // Types for what the operations use only, so a change elsewhere in the supergraph leaves these files current.
        onlyOperationTypes: true,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
  },
};

export default config;
