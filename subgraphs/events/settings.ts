/** The events subgraph's settings: the base ones (common/config.ts), its port and its partner, the event registry (an empty EVENT_REGISTRY_URL turns registration off; unset means the simulated registry). */
import { type ConfigOf, defineSettings, heartbeatSetting, local, ms, optionalUrl, subgraphPortSetting } from '../../common/config.ts';
import { databaseUrlSettings } from '../../common/databases.ts';

export const eventsSettings = defineSettings(
  'events',
  {
    EVENTS_PORT: subgraphPortSetting('events', 'EVENTS_URL', 4002),
    ...databaseUrlSettings(['events']),
    ...heartbeatSetting,
    EVENT_REGISTRY_URL: optionalUrl
      .optional()
      .describe('The event registry addEvent registers with (POST /events); default the simulated one on EXTERNAL_PORT; empty turns registration off.'),
    EVENT_REGISTRY_TIMEOUT_MS: ms(1000).describe('Timeout of each attempt to register an event with the event registry.'),
  },
  {
    derive: (env) => ({ EVENT_REGISTRY_URL: env.EVENT_REGISTRY_URL ?? local(env.EXTERNAL_PORT) }),
  },
);

export type EventsConfig = ConfigOf<typeof eventsSettings>;
