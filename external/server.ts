import { createApp, jsonErrors } from '../common/http.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import { backupRoutes } from './backup.ts';
import { controlRoutes } from './chaos.ts';
import { enrichmentRoutes } from './enrichment.ts';
import { IdentityProvider, type IdentityProviderOptions } from './identity.ts';
import { notifyRoutes } from './notify.ts';
import { registryRoutes } from './registry.ts';
import { ExternalState } from './state.ts';

export interface ExternalAppOptions {
  /** Default: a logger named "external" at LOG_LEVEL. */
  logger?: Logger;
  /** Issuer and audience of the development identity provider's tokens. */
  identity?: IdentityProviderOptions;
}

/**
 * The simulated partner services (enrichment, event registry, notification
 * provider, backup store) with chaos and call recording, and the development
 * identity provider (JWKS and tokens), as one express app.
 * index.ts listens on EXTERNAL_PORT; tests listen on a free port.
 */
export function createExternalApp(options: ExternalAppOptions = {}) {
  const logger = options.logger ?? createLogger('external');
  const state = new ExternalState();
  const identity = new IdentityProvider(options.identity);
  const app = createApp();
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', service: 'external' });
  });
  app.get('/ready', (_req, res) => {
    res.json({ status: 'ready', service: 'external' });
  });
  app.use(identity.routes(), controlRoutes(state), enrichmentRoutes(state), registryRoutes(state), notifyRoutes(state), backupRoutes(state));
  app.use((req, res) => {
    res.status(404).json({ error: `no route ${req.method} ${req.path}` });
  });
  app.use(jsonErrors(logger));
  return { app, state, identity };
}
