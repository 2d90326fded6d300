/**
 * Validation of folder templates (`targets[].folder`, the template part of a local target's
 * `path`). NOTE: the archive expands templates (src/archive/path-template.ts) and applies the same
 * rules again at expansion time; config may import nothing but `errors`, and archive may not
 * import config, so the few lines of rules live in both places. A unit test runs both over one
 * table of cases so they cannot drift apart.
 */

/**
 * Why `template` is not a usable folder template, or undefined when it is one: `$` only in
 * `$Y $M $D $h $m $s`, `/` between folders, relative (no leading `/`, no drive letter), no `..`
 * segment, no backslash, no control character. `""` is the target's root folder.
 */
export function folderTemplateProblem(template: string): string | undefined {
  const unknown = /\$(?![YMDhms])(.?)/.exec(template);
  if (unknown !== null) {
    return unknown[1] === '' || unknown[1] === undefined
      ? 'ends with a lone "$"; only the placeholders $Y $M $D $h $m $s are allowed'
      : `unknown placeholder "$${unknown[1]}"; only $Y $M $D $h $m $s are allowed`;
  }
  if (/[\u0000-\u001f\u007f]/.test(template)) return 'must not contain control characters';
  if (template.includes('\\')) return 'must use "/" between folders, not "\\"';
  if (template.startsWith('/')) return 'must be relative to the target\'s root (no leading "/")';
  if (/^[A-Za-z]:/.test(template)) return "must be relative to the target's root (no drive letter)";
  if (template.split('/').includes('..')) return 'must not contain ".." (it would leave the target\'s folder)';
  return undefined;
}

/**
 * Why a local target's `path` is not usable, or undefined: any directory may precede the first
 * segment with a placeholder; from there on the folder template rules apply.
 */
export function localPathProblem(path: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not contain control characters';
  const { template } = splitTemplatePath(path);
  const problem = folderTemplateProblem(template);
  return problem === undefined ? undefined : `the part from the first placeholder on ${problem}`;
}

/**
 * Splits a path at the first `/`-segment that contains `$`: `/mnt/archive/$Y/$M` →
 * `{ root: "/mnt/archive", template: "$Y/$M" }`; without a placeholder the template is `""`.
 */
export function splitTemplatePath(path: string): { readonly root: string; readonly template: string } {
  const segments = path.split('/');
  const first = segments.findIndex((segment) => segment.includes('$'));
  if (first < 0) return { root: path, template: '' };
  const root = segments.slice(0, first).join('/');
  return { root: root === '' && path.startsWith('/') ? '/' : root, template: segments.slice(first).join('/') };
}
