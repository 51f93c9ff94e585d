import { pino, type Logger } from 'pino';

export type { Logger };

/** A structured logger named for its service; JSON lines, level from LOG_LEVEL. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: service, level, base: { service } });
}
