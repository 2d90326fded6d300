import { maskNumber } from '../observability/index.js';

/**
 * Masks what may identify a person in free text (error messages): digit runs of five or more (with
 * an optional `+`) and SIP/tel user parts, the way the logger masks numbers.
 */
export function maskPersonalData(text: string): string {
  return text
    .replace(/\b(sips?|tel):([^@\s;>,]+)/gi, (_m, scheme: string, user: string) => `${scheme}:${maskNumber(user)}`)
    .replace(/\+?\d{5,}/g, (run) => maskNumber(run) ?? run);
}
