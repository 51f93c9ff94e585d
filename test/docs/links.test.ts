import { describe, expect, it } from 'vitest';
import { anchorsOf, brokenReferences, projectDocs, repositoryAt, type Repository } from '../support/docs.ts';

describe('the documentation', () => {
  it('covers README.md and docs/', () => {
    const paths = projectDocs().map((doc) => doc.path);
    expect(paths).toContain('README.md');
    expect(paths).toContain('docs/architecture.md');
    expect(paths).toContain('examples/web/README.md');
    expect(paths.filter((path) => path.startsWith('docs/')).length).toBeGreaterThanOrEqual(10);
  });

  it('links only to files and headings that exist, and names only npm scripts and repository paths that exist', () => {
    expect(brokenReferences(projectDocs(), repositoryAt())).toEqual([]);
  });
});

describe('the check itself', () => {
  /** A repository of a few files, for docs that break each rule. */
  const files: Record<string, string> = {
    'README.md': '# Junction\n\n## Use it from your app\n',
    'docs/guide.md': '# Guide\n\n## Signing in\n\n## Signing in\n\n## Outages pause, they do not burn retries\n',
    'common/config.ts': '',
    'package.json': '',
  };
  const repository: Repository = {
    exists: (path) => path in files || Object.keys(files).some((file) => file.startsWith(`${path}/`)),
    read: (path) => files[path],
    topLevel: new Set(['README.md', 'docs', 'common', 'package.json']),
    scripts: new Set(['start', 'test', 'compose']),
  };
  const check = (text: string, path = 'docs/page.md') => brokenReferences([{ path, text }], repository);

  it('accepts references that resolve', () => {
    const text = [
      'See [the guide](guide.md#signing-in-1), [the top](../README.md#use-it-from-your-app), [here](#a-heading) and [outside](https://example.com/x.md).',
      '',
      '## A heading',
      '',
      'Run `npm start`, `npm test` and `npm run compose -- --check`; settings in `common/config.ts`, under `docs/`.',
      'Not paths: `subgraphs/<name>/index.ts`, `text/event-stream`, `/metrics`, `node dist/gateway/index.js`, `redis://127.0.0.1:6379`.',
      '[Outages](guide.md#outages-pause-they-do-not-burn-retries)',
      '',
      '```sh',
      'npm run compose   # code blocks name scripts too',
      'cat nowhere/file.ts   # but their paths are not checked',
      '```',
    ].join('\n');
    expect(check(text)).toEqual([]);
  });

  it('finds a link to a missing file, one leaving the repository, and a missing anchor', () => {
    expect(check('[a](missing.md) and [b](../../outside.md)\n\n[c](guide.md#no-such-heading) [d](#nor-here)')).toEqual([
      'docs/page.md:1: link to missing.md: no such file in the repository',
      'docs/page.md:1: link to ../../outside.md: no such file in the repository',
      'docs/page.md:3: link to guide.md#no-such-heading: docs/guide.md has no heading #no-such-heading',
      'docs/page.md:3: link to #nor-here: docs/page.md has no heading #nor-here',
    ]);
  });

  it('finds npm scripts package.json does not have, in prose and in code blocks', () => {
    expect(check('Run `npm run docs:nothing -- --check`.\n\n```sh\nnpm run --silent gone\n```')).toEqual([
      'docs/page.md:1: `npm run docs:nothing`: package.json has no script "docs:nothing"',
      'docs/page.md:4: `npm run --silent gone`: package.json has no script "gone"',
    ]);
  });

  it('finds backticked repository paths that do not exist', () => {
    expect(check('See `common/confg.ts`, `docs/old/` and `scripts/gone.ts`.')).toEqual([
      'docs/page.md:1: `common/confg.ts`: no such file or folder in the repository',
      'docs/page.md:1: `docs/old/`: no such file or folder in the repository',
      'docs/page.md:1: `scripts/gone.ts`: no such file or folder in the repository',
    ]);
  });

  it('makes anchors as GitHub does', () => {
    expect([
      ...anchorsOf("# Junction — design\n## Restore yesterday's archive\n## `npm run kubernetes`\n## Flows\n## Flows\n```\n## not a heading\n```"),
    ]).toEqual(['junction--design', 'restore-yesterdays-archive', 'npm-run-kubernetes', 'flows', 'flows-1']);
  });
});
