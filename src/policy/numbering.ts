import type { NormalisedNumber, PolicyNumbering, PolicyUser } from './policy-types.js';

/**
 * Normalises the numbers of a call (Request-URI user, To, From, P-Asserted-Identity) to E.164 or
 * an internal extension, from the `numbering` plan. The rules, in the order they apply, with the
 * example plan countryCode "49", areaCode "30", internationalPrefix "00", nationalPrefix "0",
 * companyNumber "+4930123456" and 3-digit extensions:
 *
 *  1. Name-addr: the URI between `<` and `>` is used.   `"Alice" <sip:201@pbx>;tag=1` → `201`
 *  2. `sip:`/`sips:` URI: its user part, without password, parameters and host; percent-decoded.
 *     `sip:+4930123456201@trunk;user=phone` → `+4930123456201`,
 *     `sip:030123456;phone-context=+49@trunk` → `030123456` → `+4930123456`,
 *     `sip:%2B4930123456@trunk` → `+4930123456`. A URI without user part is unknown.
 *  3. `tel:` URI: the number without parameters (`;phone-context=`, `;ext=`, `;isub=`).
 *     `tel:+49-30-123456;phone-context=+49` → `+4930123456`. NOTE: phone-context is ignored.
 *  4. `user@host` without scheme: the part before `@`.        `201@10.0.0.5` → `201`
 *  5. A leading `*` or `#` is a feature code: unknown, as given.   `*51` → unknown `*51`
 *  6. Visual separators (space, `-`, `.`, `(`, `)`, `/`) are removed; after a `+`, the national
 *     prefix in parentheses is dropped.   `+49 (30) 123-456` → `+4930123456`,
 *     `+49 (0)30 123456` → `+4930123456`. What is not then `+`digits or digits is unknown, as
 *     given: `anonymous` → unknown `anonymous`.
 *  7. `+` and digits: E.164 as is.   `+4930123456` → `+4930123456`
 *  8. Digits as many as an extension has (`extensionLength`, else the lengths of the users'
 *     extensions): an extension.   `201` → extension `201`
 *  9. International prefix, then a country code: E.164.   `004930123456` → `+4930123456`
 * 10. National prefix, then area code and number: country code added.   `030123456` → `+4930123456`
 * 11. Other digits with `areaCode` set: a local number.   `123456201` → `+4930123456201`;
 *     without `areaCode` but with an empty national prefix: a national number.
 *     (Where the international and the national prefix both match, the longer one wins.)
 * 12. Anything that does not end up as valid E.164 (`+`, 2 to 15 digits, no leading 0) is
 *     unknown with its digits: `00049` → unknown `00049`; otherwise, without `areaCode`, `123456`
 *     → unknown `123456`.
 *
 * A company DID is `companyNumber` followed by an extension: `+4930123456201` and extension `201`
 * are the same line (see `aliases` and `sameNumber`).
 */
export interface NumberNormaliser {
  /** `normalise('tel:+49-30-123456-201')` → `{ kind: 'e164', value: '+4930123456201' }`. */
  normalise(raw: string): NormalisedNumber;
  /**
   * The forms of the same line, `number` first: an extension and its company DID.
   * `201` → [`201`, `+4930123456201`]; `+4930123456201` → [`+4930123456201`, `201`].
   */
  aliases(number: NormalisedNumber): readonly NormalisedNumber[];
  /**
   * Whether two numbers (raw or normalised) reach the same line: `'030 123456-201'` and `'201'`
   * are the same; unknown numbers are the same only when their non-empty values are equal.
   */
  sameNumber(a: string | NormalisedNumber, b: string | NormalisedNumber): boolean;
}

const E164 = /^\+[1-9][0-9]{1,14}$/;
const SEPARATORS = /[\s\-.()/\u00a0]/g;
const SCHEME = /^(sips?|tel):/i;

/**
 * A normaliser for `numbering`; `users` supply the extension lengths when `extensionLength` is
 * not set. Pure: the same input always gives the same result.
 */
export function createNumberNormaliser(
  numbering: PolicyNumbering,
  users: readonly Pick<PolicyUser, 'extension'>[] = [],
): NumberNormaliser {
  const extensionLengths = new Set<number>(
    numbering.extensionLength !== undefined
      ? [numbering.extensionLength]
      : users.flatMap((u) => (u.extension === undefined ? [] : [u.extension.length])),
  );
  const company =
    numbering.companyNumber !== undefined && E164.test(numbering.companyNumber) ? numbering.companyNumber : undefined;
  const { countryCode, areaCode, internationalPrefix, nationalPrefix } = numbering;
  // Rule 11: longest matching prefix first.
  const prefixes = [
    { prefix: internationalPrefix, add: '+' },
    { prefix: nationalPrefix, add: `+${countryCode}` },
  ]
    .filter((p) => p.prefix !== '')
    .sort((a, b) => b.prefix.length - a.prefix.length);
  const nationalInParentheses =
    nationalPrefix === ''
      ? undefined
      : new RegExp(`\\(\\s*${nationalPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\)`);

  const e164OrUnknown = (candidate: string, digits: string): NormalisedNumber =>
    E164.test(candidate) ? { kind: 'e164', value: candidate } : { kind: 'unknown', value: digits };

  const classify = (part: string): NormalisedNumber => {
    if (part.startsWith('*') || part.startsWith('#')) return { kind: 'unknown', value: part };
    const withoutTrunkPrefix =
      part.startsWith('+') && nationalInParentheses !== undefined ? part.replace(nationalInParentheses, '') : part;
    const compact = withoutTrunkPrefix.replace(SEPARATORS, '');
    if (!/^\+?[0-9]+$/.test(compact)) return { kind: 'unknown', value: part };
    if (compact.startsWith('+')) return e164OrUnknown(compact, compact);
    if (extensionLengths.has(compact.length)) return { kind: 'extension', value: compact };
    for (const { prefix, add } of prefixes) {
      if (compact.startsWith(prefix)) return e164OrUnknown(add + compact.slice(prefix.length), compact);
    }
    if (areaCode !== undefined) return e164OrUnknown(`+${countryCode}${areaCode}${compact}`, compact);
    if (nationalPrefix === '') return e164OrUnknown(`+${countryCode}${compact}`, compact);
    return { kind: 'unknown', value: compact };
  };

  const normalise = (raw: string): NormalisedNumber => {
    const part = numberPart(raw);
    return part === undefined ? { kind: 'unknown', value: raw.trim() } : classify(part);
  };

  const aliases = (number: NormalisedNumber): readonly NormalisedNumber[] => {
    if (company === undefined) return [number];
    if (number.kind === 'extension') {
      const did = company + number.value;
      return E164.test(did) ? [number, { kind: 'e164', value: did }] : [number];
    }
    if (number.kind === 'e164' && number.value.startsWith(company)) {
      const suffix = number.value.slice(company.length);
      if (extensionLengths.has(suffix.length)) return [number, { kind: 'extension', value: suffix }];
    }
    return [number];
  };

  const sameNumber = (a: string | NormalisedNumber, b: string | NormalisedNumber): boolean => {
    const left = typeof a === 'string' ? normalise(a) : a;
    const right = typeof b === 'string' ? normalise(b) : b;
    if (left.kind === 'unknown' || right.kind === 'unknown') {
      return left.kind === right.kind && left.value !== '' && left.value === right.value;
    }
    const keys = new Set(aliases(left).map(numberKey));
    return aliases(right).some((n) => keys.has(numberKey(n)));
  };

  return { normalise, aliases, sameNumber };
}

/** A map key for a normalised number: `e164:+4930123456`, `extension:201`, `unknown:*51`. */
export function numberKey(number: NormalisedNumber): string {
  return `${number.kind}:${number.value}`;
}

/** How a number reads in a log sentence: `number +4930123456`, `extension 201`, `"*51"`. */
export function describeNumber(number: NormalisedNumber): string {
  switch (number.kind) {
    case 'e164':
      return `number ${number.value}`;
    case 'extension':
      return `extension ${number.value}`;
    case 'unknown':
      return number.value === '' ? 'an empty number' : `unknown number ${JSON.stringify(number.value)}`;
  }
}

/** Rules 1–4: the dialled string inside a name-addr / URI, or undefined for a URI without user. */
function numberPart(raw: string): string | undefined {
  let text = raw.trim();
  const open = text.indexOf('<');
  if (open >= 0) {
    const close = text.indexOf('>', open);
    text = text.slice(open + 1, close < 0 ? undefined : close).trim();
  }
  const scheme = SCHEME.exec(text);
  let part: string;
  if (scheme !== null && scheme[1]?.toLowerCase() !== 'tel') {
    const rest = text.slice(scheme[0].length);
    const at = rest.indexOf('@');
    if (at < 0) return undefined;
    part = (rest.slice(0, at).split(';')[0] ?? '').split(':')[0] ?? '';
  } else {
    const rest = scheme === null ? text : text.slice(scheme[0].length);
    const at = scheme === null ? rest.indexOf('@') : -1;
    part = (at < 0 ? rest : rest.slice(0, at)).split(';')[0] ?? '';
  }
  return percentDecode(part.trim());
}

function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    // Malformed escapes are left as they are; the number then classifies as unknown.
    return text;
  }
}
