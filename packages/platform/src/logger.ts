import { Logger } from '@aws-lambda-powertools/logger';

/** Structured JSON logs (one line per entry). Level from POWERTOOLS_LOG_LEVEL; service from POWERTOOLS_SERVICE_NAME. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'services' });
export type { Logger };

type Extra = Record<string, unknown>;

/** The logging calls request and job code makes; every line also carries the scope's keys. */
export interface ScopedLogger {
  debug(message: string, extra?: Extra): void;
  info(message: string, extra?: Extra): void;
  warn(message: string, extra?: Extra): void;
  error(message: string, extra?: Extra): void;
}

/**
 * A view of the shared logger that adds `keys` (request id, message id, ...) to every line.
 * Used instead of `logger.createChild()`, which builds a whole new Logger (about 0.5 ms, more than
 * a warm DynamoDB GetItem) and so must not run once per request.
 */
export function scopedLogger(keys: Extra, base: Pick<Logger, keyof ScopedLogger> = logger): ScopedLogger {
  return {
    debug: (message, extra) => base.debug(message, { ...keys, ...extra }),
    info: (message, extra) => base.info(message, { ...keys, ...extra }),
    warn: (message, extra) => base.warn(message, { ...keys, ...extra }),
    error: (message, extra) => base.error(message, { ...keys, ...extra }),
  };
}
