/**
 * examples/web's generated client types and its persisted-operations manifest
 * (src/gql/) are committed: they must equal a fresh `npm run codegen` there,
 * and the check must notice an operation that changed.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/compose.ts';
import { WEB_DIR, WEB_MANIFEST } from '../../scripts/web-example.ts';

/** `graphql-codegen --check` in `dir` (an examples/web): its exit code and output. */
function codegenCheck(dir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      join(WEB_DIR, 'node_modules', '.bin', 'graphql-codegen'),
      ['--config', 'codegen.ts', '--check'],
      { cwd: dir, timeout: 120_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout + stderr });
      },
    );
  });
}

describe('examples/web codegen', () => {
  beforeAll(() => {
    if (!existsSync(join(WEB_DIR, 'node_modules', '.bin', 'graphql-codegen'))) {
      throw new Error('examples/web has no node_modules: run npm ci --prefix examples/web');
    }
  });

  it('the committed client types and manifest equal a fresh generation (npm run codegen --prefix examples/web)', async () => {
    const { code, output } = await codegenCheck(WEB_DIR);
    expect(code, `stale: run npm run codegen --prefix examples/web and commit src/gql/\n${output}`).toBe(0);
  });

  it('every manifest id is the sha256 of its text, which is what the app sends (the hash without its prefix)', () => {
    const manifest = JSON.parse(readFileSync(WEB_MANIFEST, 'utf8')) as Record<string, string>;
    const names = Object.values(manifest).map((text) => /^(query|mutation|subscription) (\w+)/.exec(text)?.[2]);
    expect(names).toEqual(expect.arrayContaining(['SignUp', 'Me', 'Products', 'PlaceOrder', 'MyOrders', 'OrderStats', 'CreateProduct']));
    for (const [id, text] of Object.entries(manifest)) {
      expect(id).toBe(`sha256:${createHash('sha256').update(text).digest('hex')}`);
    }
  });

  describe('when an operation changes', () => {
    let root: string;
    beforeAll(() => {
      // A copy of examples/web two folders below a copy of the supergraph, as in the repository.
      root = mkdtempSync(join(tmpdir(), 'web-codegen-'));
      const copy = join(root, 'examples', 'web');
      cpSync(join(PROJECT_ROOT, 'supergraph.graphql'), join(root, 'supergraph.graphql'));
      for (const entry of ['codegen.ts', 'package.json', 'src']) cpSync(join(WEB_DIR, entry), join(copy, entry), { recursive: true });
      symlinkSync(join(WEB_DIR, 'node_modules'), join(copy, 'node_modules'), 'dir');
      const operations = join(copy, 'src', 'operations.ts');
      const text = readFileSync(operations, 'utf8');
      const changed = text.replace(
        'query MyOrders($first: Int!) {\n    orders(first: $first) {\n      nodes {\n        id\n',
        'query MyOrders($first: Int!) {\n    orders(first: $first) {\n      nodes {\n        id\n        failureReason\n',
      );
      expect(changed).not.toBe(text);
      writeFileSync(operations, changed);
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('the check fails', async () => {
      const { code, output } = await codegenCheck(join(root, 'examples', 'web'));
      expect(code, output).not.toBe(0);
      expect(output).toMatch(/persisted-documents\.json|graphql\.ts|gql\.ts/);
    });
  });
});
