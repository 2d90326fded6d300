import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturePath } from '../support/paths.js';

const TYPICAL_INVITE = [
  'INVITE sip:+4930123456500@198.51.100.1:5060;user=phone SIP/2.0',
  'Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: <sip:+4930123456500@example.com>',
  'From: "Caller" <sip:+4940111222@carrier.example>;tag=1928301774',
  'Call-ID: a84b4c76e66710@198.51.100.1',
  'CSeq: 314159 INVITE',
  'Contact: <sip:+4940111222@198.51.100.1:5060>',
  'P-Asserted-Identity: <sip:+4940111222@carrier.example>',
  'Content-Type: application/sdp',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

/** Seed inputs: a typical trunk INVITE plus every valid RFC 4475 / 5118 fixture. */
export function sipCorpus(): Buffer[] {
  const corpus = [Buffer.from(TYPICAL_INVITE)];
  for (const dir of ['rfc4475', 'rfc5118']) {
    const folder = fixturePath('sip', dir);
    let names: string[] = [];
    try {
      names = readdirSync(folder).filter((n) => n.endsWith('.sip'));
    } catch {
      continue;
    }
    for (const name of names) corpus.push(readFileSync(join(folder, name)));
  }
  return corpus;
}
