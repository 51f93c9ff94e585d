/** The users subgraph's settings: the base ones (common/config.ts), its port and its partner, the enrichment service. */
import { z } from 'zod';
import { type ConfigOf, defineSettings, heartbeatSetting, local, ms, subgraphPortSetting } from '../../common/config.ts';
import { databaseUrlSettings } from '../../common/databases.ts';

export const usersSettings = defineSettings(
  'users',
  {
    USERS_PORT: subgraphPortSetting('users', 'USERS_URL', 4001),
    ...databaseUrlSettings(['users']),
    ...heartbeatSetting,
    ENRICHMENT_URL: z.url().optional().describe('The enrichment service (GET /enrichment/{userId}); default the simulated one on EXTERNAL_PORT.'),
    ENRICHMENT_TTL_MS: ms(300000).describe(
      'How long fetched enrichment is fresh (AVAILABLE) before it is fetched again; older data is served as STALE while the service fails.',
    ),
    ENRICHMENT_TIMEOUT_MS: ms(1000).describe('Timeout of each attempt to call the enrichment service.'),
  },
  {
    derive: (env) => ({ ENRICHMENT_URL: env.ENRICHMENT_URL ?? local(env.EXTERNAL_PORT) }),
  },
);

export type UsersConfig = ConfigOf<typeof usersSettings>;
