import { isRecord, records, type ConfigError } from './config-error.js';
import { folderTemplateProblem, localPathProblem } from './folder-template.js';
import { webhookUrlProblem } from './network-checks.js';

/**
 * Checks of `targets`, `uploads` and `email` the schema cannot express: folder templates that
 * would leave the target's root, the time zone (asked of Intl), the webhook URL, the backoff cap.
 * Like the other semantic checks they run on raw data and skip values of the wrong shape.
 */
export function archiveErrors(data: unknown): ConfigError[] {
  if (!isRecord(data)) return [];
  const errors: ConfigError[] = [];
  const error = (path: string, message: string): void => {
    errors.push({ path, message });
  };

  for (const [i, target] of records(data.targets)) {
    if (typeof target.folder === 'string') {
      const problem = folderTemplateProblem(target.folder);
      if (problem !== undefined) error(`/targets/${i}/folder`, problem);
    }
    if (target.type === 'local' && typeof target.path === 'string') {
      const problem = localPathProblem(target.path);
      if (problem !== undefined) error(`/targets/${i}/path`, problem);
    }
  }

  const installation = data.installation;
  if (isRecord(installation) && typeof installation.timestampUrl === 'string') {
    const problem = webhookUrlProblem(installation.timestampUrl);
    if (problem !== undefined) error('/installation/timestampUrl', problem);
  }

  const uploads = data.uploads;
  if (isRecord(uploads)) {
    if (typeof uploads.timezone === 'string') {
      const problem = timeZoneProblem(uploads.timezone);
      if (problem !== undefined) error('/uploads/timezone', problem);
    }
    if (typeof uploads.webhook === 'string') {
      const problem = webhookUrlProblem(uploads.webhook);
      if (problem !== undefined) error('/uploads/webhook', problem);
    }
    const { intervalSeconds, maxBackoffSeconds } = uploads;
    if (
      typeof intervalSeconds === 'number' &&
      typeof maxBackoffSeconds === 'number' &&
      maxBackoffSeconds < intervalSeconds
    ) {
      error('/uploads/maxBackoffSeconds', `must not be less than intervalSeconds (${intervalSeconds})`);
    }
  }
  return errors;
}

/** Why `zone` is not a time zone this Node.js (its ICU data) knows, or undefined when it is one. */
export function timeZoneProblem(zone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return 'must be an IANA time zone name such as "Europe/Berlin" or "UTC"';
  }
}
