export { createLogger, maskNumber, type Logger, type LoggerOptions } from './logger.js';
