import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { apiSchemaOf } from '../../scripts/api-schema.ts';
import { fencedBlocks, projectDocs } from '../support/docs.ts';

const schema = buildSchema(apiSchemaOf(readFileSync(new URL('../../supergraph.graphql', import.meta.url), 'utf8')));
const docs = projectDocs();
const readme = docs.filter((doc) => doc.path === 'README.md');

/** GraphQL sent by the shell and JavaScript examples: `"query": "…"` in curl bodies, '…' strings that start an operation in code. */
function operations(): { source: string; text: string }[] {
  const fromShell = fencedBlocks(readme, 'sh').flatMap(({ text }) =>
    [...text.matchAll(/"query":\s*"((?:[^"\\]|\\.)*)"/g)].map(([, body]) => ({ source: 'sh', text: JSON.parse(`"${body!}"`) as string })),
  );
  const fromCode = fencedBlocks(readme, 'js').flatMap(({ text }) =>
    [...text.matchAll(/'((?:query|mutation|subscription)\b[^']*|\{[^']*)'/g)].map(([, body]) => ({ source: 'js', text: body! })),
  );
  return [...fromShell, ...fromCode];
}

describe("the README's start", () => {
  it('sends operations the API schema accepts: createUser, createProduct, placeOrder, me and cancelOrder at least', () => {
    const found = operations();
    const sent = found.map(({ text }) => text).join('\n');
    for (const field of ['createUser', 'createProduct', 'placeOrder', 'me', 'cancelOrder']) expect(sent).toMatch(new RegExp(`\\b${field}\\b`));
    for (const { source, text } of found)
      expect({ source, text, errors: validate(schema, parse(text)).map((e) => e.message) }).toEqual({ source, text, errors: [] });
  });

  it('mints a token for the id createUser returned, never for a placeholder', () => {
    const shell = fencedBlocks(readme, 'sh')
      .map(({ text }) => text)
      .join('\n');
    expect(shell).toMatch(/USER_ID=\$\(.*\n?.*createUser[\s\S]*?jq -r \.data\.createUser\.id\)/);
    expect(shell).toMatch(/auth\/token[\s\S]*?--arg sub "\$USER_ID"/);
    // No doc's shell example asks the identity provider for a token whose sub is a placeholder such as <user id>.
    const minted = fencedBlocks(docs, 'sh').flatMap(({ path, text }) =>
      [...text.matchAll(/auth\/token[^\n]*(?:\\\n[^\n]*)*/g)].map(([command]) => ({ path, command })),
    );
    expect(minted.length).toBeGreaterThan(0);
    expect(minted.filter(({ command }) => /"sub":\s*"</.test(command))).toEqual([]);
  });
});
