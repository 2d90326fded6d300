import { resolve } from 'node:path';

/** `--config`, else `CALLREC_CONFIG`, else `config/callrec.json` (SPEC §11). */
export function configPathFrom(option: string | undefined): string {
  return resolve(option ?? process.env['CALLREC_CONFIG'] ?? 'config/callrec.json');
}
