import { AppError } from '../errors.js';

/**
 * Folder templates (SPEC §6): `$Y $M $D $h $m $s` from the recording's start time in a time zone,
 * `/` nesting folders. The same rules as config's `folderTemplateProblem` (src/config/
 * folder-template.ts — config may not import archive, nor archive config; a test keeps the two in
 * step), applied again here because a template may also come from somewhere other than a loaded
 * config.
 */

/** Zero-padded fields of an instant in a time zone. */
interface ZonedFields {
  readonly Y: string;
  readonly M: string;
  readonly D: string;
  readonly h: string;
  readonly m: string;
  readonly s: string;
}

const PLACEHOLDER = /\$(.?)/g;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The host's local time zone (IANA name as Intl reports it). */
export function localTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * Why `template` is not a folder template, or `undefined` when it is one: `$` only as
 * `$Y $M $D $h $m $s`; relative (no leading `/`, no drive letter); no `..` segment, backslash or
 * control character. `""` is the target's root.
 */
export function folderTemplateProblem(template: string): string | undefined {
  for (const match of template.matchAll(PLACEHOLDER)) {
    const token = match[1] ?? '';
    if (!'YMDhms'.includes(token) || token === '') {
      return token === ''
        ? 'ends with a lone "$"; only the placeholders $Y $M $D $h $m $s are allowed'
        : `unknown placeholder "$${token}"; only $Y $M $D $h $m $s are allowed`;
    }
  }
  if (/[\u0000-\u001f\u007f]/.test(template)) return 'must not contain control characters';
  if (template.includes('\\')) return 'must use "/" between folders, not "\\"';
  if (template.startsWith('/')) return 'must be relative to the target\'s root (no leading "/")';
  if (/^[A-Za-z]:/.test(template)) return "must be relative to the target's root (no drive letter)";
  if (template.split('/').includes('..')) return 'must not contain ".." (it would leave the target\'s folder)';
  return undefined;
}

/**
 * Expands `template` for a recording that started at `start`, the fields taken in `timeZone`
 * (an IANA name; default the host's local zone): `$Y` four digits, `$M $D $h $m $s` two, zero
 * padded. The result is normalised — `/`-separated, no empty or `.` segments, no leading or
 * trailing `/` — and `""` for the target's root. Throws `AppError('ARCHIVE_PATH')` for an invalid
 * template, an unknown time zone or an invalid date.
 */
export function expandFolder(template: string, start: Date, timeZone: string = localTimeZone()): string {
  const problem = folderTemplateProblem(template);
  if (problem !== undefined) {
    throw new AppError('ARCHIVE_PATH', `folder template ${JSON.stringify(template)} ${problem}`);
  }
  if (Number.isNaN(start.getTime())) throw new AppError('ARCHIVE_PATH', 'recording start is not a valid date');
  const fields = template.includes('$') ? zonedFields(start, timeZone) : undefined;
  const expanded = template.replace(PLACEHOLDER, (_, token: keyof ZonedFields) => fields?.[token] ?? '');
  return normaliseFolder(expanded);
}

/**
 * `folder` as the targets expect it: segments joined by `/`, empty and `.` segments dropped.
 * Throws `AppError('ARCHIVE_PATH')` for `..`, an absolute path, a backslash or a control
 * character, so a folder that did not come from {@link expandFolder} is checked as well.
 */
export function normaliseFolder(folder: string): string {
  if (/[\u0000-\u001f\u007f]/.test(folder) || folder.includes('\\') || folder.startsWith('/')) {
    throw new AppError(
      'ARCHIVE_PATH',
      `folder ${JSON.stringify(folder)} is absolute or has a backslash or control character`,
    );
  }
  const segments = folder.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) {
    throw new AppError('ARCHIVE_PATH', `folder ${JSON.stringify(folder)} must not contain ".."`);
  }
  return segments.join('/');
}

function zonedFields(start: Date, timeZone: string): ZonedFields {
  const parts = new Map(
    formatter(timeZone)
      .formatToParts(start)
      .map((part) => [part.type, part.value]),
  );
  const field = (type: Intl.DateTimeFormatPartTypes, width: number): string =>
    (parts.get(type) ?? '').padStart(width, '0');
  const hour = field('hour', 2);
  return {
    Y: field('year', 4),
    M: field('month', 2),
    D: field('day', 2),
    // hourCycle h23 is asked for below; older ICU data still printed midnight as "24".
    h: hour === '24' ? '00' : hour,
    m: field('minute', 2),
    s: field('second', 2),
  };
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  let cached = formatters.get(timeZone);
  if (cached === undefined) {
    try {
      cached = new Intl.DateTimeFormat('en-US', {
        timeZone,
        calendar: 'gregory',
        numberingSystem: 'latn',
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch (error) {
      throw new AppError('ARCHIVE_PATH', `unknown time zone ${JSON.stringify(timeZone)}`, { cause: error });
    }
    formatters.set(timeZone, cached);
  }
  return cached;
}
