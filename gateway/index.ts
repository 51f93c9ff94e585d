import { ConfigError } from '../common/config.ts';
import { onShutdown } from '../common/http.ts';
import { createLogger } from '../common/logger.ts';
import { startTracing } from '../common/tracing.ts';
import { createGateway, listenGateway } from './server.ts';
import { gatewaySettings } from './settings.ts';

const config = gatewaySettings.load();
const tracing = await startTracing('gateway', config.OTEL_EXPORTER_OTLP_ENDPOINT);
const logger = createLogger('gateway', config.LOG_LEVEL);
const gateway = await createGateway({ config, logger }).catch((error: unknown) => {
  // A setting that names a file the gateway cannot use (OPERATIONS_MANIFEST): one line naming it, as for any bad setting.
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
});
// Subscriptions' WebSockets too; close() ends open streams first (clients reconnect to another replica).
const http = await listenGateway(gateway, config.GATEWAY_PORT);
logger.info({ url: `${http.url}/graphql` }, 'gateway listening');
onShutdown(logger, async () => {
  await http.close();
  await gateway.close();
  await tracing?.shutdown();
});
