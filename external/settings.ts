/** The simulated partners' settings: the base ones (common/config.ts): EXTERNAL_PORT, the issuer and audience of the tokens it signs. */
import { defineSettings, type ConfigOf } from '../common/config.ts';

export const externalSettings = defineSettings('external', {});

export type ExternalConfig = ConfigOf<typeof externalSettings>;
