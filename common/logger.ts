import { pino, type Logger } from 'pino';
import { traceFields } from './tracing.ts';

export type { Logger };

/** A structured logger named for its service; JSON lines, level from LOG_LEVEL; lines written inside a traced span carry its trace_id and span_id. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: service, level, base: { service }, mixin: traceFields });
}
