import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { SupergraphSdlHook } from '@apollo/gateway';
import { Supergraph } from '@apollo/federation-internals';
import type { Logger } from '../common/logger.ts';

export interface SupergraphFileOptions {
  /** Absolute path of supergraph.graphql. */
  path: string;
  logger: Logger;
  /** Throws when the gateway cannot serve this supergraph (e.g. a subgraph without a URL setting). */
  check?(supergraph: Supergraph): void;
  /** Called with each supergraph the gateway has taken, the first one included. */
  onLoad?(supergraph: Supergraph): void;
  /** Quiet time after the last change before reloading. Default 100 ms. */
  debounceMs?: number;
}

/** Parses and validates a supergraph SDL, then runs the caller's check. */
function load(sdl: string, check?: (supergraph: Supergraph) => void): Supergraph {
  const supergraph = Supergraph.build(sdl);
  check?.(supergraph);
  return supergraph;
}

/**
 * ApolloGateway's `supergraphSdl` hook over a file: loads it at start (an
 * invalid file fails the start) and hands every later valid version to the
 * gateway. An invalid or half-written version is logged and ignored, so the
 * gateway keeps serving the last good one.
 */
export function supergraphFromFile(options: SupergraphFileOptions): SupergraphSdlHook {
  const { path, logger } = options;
  return async ({ update }) => {
    const initial = await readFile(path, 'utf8');
    const supergraph = load(initial, options.check);
    options.onLoad?.(supergraph);
    let current = initial;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;

    const reload = async () => {
      let sdl: string;
      try {
        sdl = await readFile(path, 'utf8');
      } catch (error) {
        logger.error({ err: error, path }, 'cannot read the supergraph; keeping the current one');
        return;
      }
      if (stopped || sdl === current) return;
      try {
        const next = load(sdl, options.check);
        update(sdl);
        current = sdl;
        options.onLoad?.(next);
        logger.info({ path, subgraphs: next.subgraphsMetadata().map((s) => s.name) }, 'supergraph reloaded');
      } catch (error) {
        logger.error({ err: error, path }, 'ignoring an invalid supergraph; keeping the current one');
      }
    };

    // Watch the folder, not the file: editors and `npm run compose` may replace the file, which ends a file watch.
    const file = basename(path);
    const watcher: FSWatcher = watch(dirname(path), (_event, name) => {
      if (name !== null && name.toString() !== file) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), options.debounceMs ?? 100);
    });
    watcher.on('error', (error) => logger.error({ err: error, path }, 'supergraph watch failed; reloading is off'));

    return {
      supergraphSdl: initial,
      async cleanup() {
        stopped = true;
        clearTimeout(timer);
        watcher.close();
      },
    };
  };
}
