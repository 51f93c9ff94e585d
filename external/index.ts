import { externalSettings } from './settings.ts';
import { listen, onShutdown } from '../common/http.ts';
import { createLogger } from '../common/logger.ts';
import { createExternalApp } from './server.ts';

const config = externalSettings.load();
const logger = createLogger('external', config.LOG_LEVEL);
const { app } = createExternalApp({ logger, identity: { issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE } });
const http = await listen(app, config.EXTERNAL_PORT);
logger.info({ url: http.url }, 'simulated partner services listening');
onShutdown(logger, () => http.close());
