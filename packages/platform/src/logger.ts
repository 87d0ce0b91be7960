import { Logger } from '@aws-lambda-powertools/logger';

/** Structured JSON logs (one line per entry). Level from POWERTOOLS_LOG_LEVEL; service from POWERTOOLS_SERVICE_NAME. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'services' });
export type { Logger };
