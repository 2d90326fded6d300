export { configSchemaPath, loadConfig, networkProblem, sipUriProblem, validateConfig } from './load-config.js';
export type { ConfigError, LoadConfigResult } from './load-config.js';
export { timeZoneProblem } from './archive-checks.js';
export { folderTemplateProblem, localPathProblem, splitTemplatePath } from './folder-template.js';
export { isLoopback, webhookUrlProblem } from './network-checks.js';
export { describeSecret, listSecrets, resolveSecret } from './secrets.js';
export type { ResolveSecretOptions, SecretLocation } from './secrets.js';
export type * from './types.js';
export { watchConfig, type ConfigWatchOptions } from './watch.js';
