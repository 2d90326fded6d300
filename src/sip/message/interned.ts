/**
 * Parameter names and values that nearly every message carries (`tag`, `branch`, `lr`,
 * `user=phone`, ...), returned as string constants instead of new strings cut from the header
 * section: no allocation, and as Map keys their hash is already known.
 */
const COMMON = [
  'branch',
  'expires',
  'lr',
  'maddr',
  'method',
  'ob',
  'phone',
  'q',
  'received',
  'refresher',
  'rport',
  'tag',
  'tcp',
  'tls',
  'transport',
  'ttl',
  'uac',
  'uas',
  'udp',
  'user',
];

const MAX_LENGTH = 15;
/** Candidates by length and first letter (`a`..`z`). */
const BUCKETS: Array<readonly string[] | undefined> = new Array<undefined>((MAX_LENGTH + 1) * 32).fill(undefined);
for (const word of COMMON) {
  const key = word.length * 32 + (word.charCodeAt(0) & 31);
  BUCKETS[key] = [...(BUCKETS[key] ?? []), word];
}

/**
 * `text[start, end)` as a string: a shared constant when it is one of the common lower-case
 * words, else a new slice.
 */
export function internedSlice(text: string, start: number, end: number): string {
  const length = end - start;
  if (length > 0 && length <= MAX_LENGTH) {
    const first = text.charCodeAt(start);
    if (first >= 0x61 && first <= 0x7a) {
      const bucket = BUCKETS[length * 32 + (first & 31)];
      if (bucket !== undefined) {
        for (let k = 0; k < bucket.length; k++) {
          const word = bucket[k] as string;
          if (text.startsWith(word, start)) return word;
        }
      }
    }
  }
  return text.slice(start, end);
}

/**
 * The URI parameter lists that most URIs carry, each parsed once into a Map shared by every URI
 * that has exactly that list (parameters are read-only, like the shared empty Map of a URI
 * without parameters). Keyed by the text from the first `;` to the end of the parameters.
 */
const COMMON_URI_PARAMS: ReadonlyArray<readonly [string, ReadonlyArray<readonly [string, string | null]>]> = [
  [';lr', [['lr', null]]],
  [';user=phone', [['user', 'phone']]],
  [';transport=udp', [['transport', 'udp']]],
  [';transport=tcp', [['transport', 'tcp']]],
  [';transport=tls', [['transport', 'tls']]],
  [
    ';lr;transport=udp',
    [
      ['lr', null],
      ['transport', 'udp'],
    ],
  ],
  [
    ';transport=udp;lr',
    [
      ['transport', 'udp'],
      ['lr', null],
    ],
  ],
];
const COMMON_URI_PARAMS_TEXT: readonly string[] = COMMON_URI_PARAMS.map(([text]) => text);
const COMMON_URI_PARAMS_MAX_LENGTH = Math.max(...COMMON_URI_PARAMS_TEXT.map((text) => text.length));
const COMMON_URI_PARAMS_MAP: ReadonlyArray<ReadonlyMap<string, string | null>> = COMMON_URI_PARAMS.map(
  ([, entries]) => new Map(entries),
);

/** The shared Map for the URI parameters `text[start, end)` (from the first `;`), if common. */
export function commonUriParams(
  text: string,
  start: number,
  end: number,
): ReadonlyMap<string, string | null> | undefined {
  const length = end - start;
  if (length > COMMON_URI_PARAMS_MAX_LENGTH) return undefined;
  for (let k = 0; k < COMMON_URI_PARAMS_TEXT.length; k++) {
    const written = COMMON_URI_PARAMS_TEXT[k] as string;
    if (written.length === length && text.startsWith(written, start)) return COMMON_URI_PARAMS_MAP[k];
  }
  return undefined;
}
