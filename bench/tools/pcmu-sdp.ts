/** SDP helpers of the `media.bench.ts` load generator. */
import { randomInt } from 'node:crypto';
import type { MediaAddress } from './media-engine.js';

/** The c= address and m=audio port of an SDP body. */
export function sdpAudioAddress(sdp: string): MediaAddress | undefined {
  let session = '';
  let media = '';
  let port = -1;
  let inAudio = false;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      inAudio = line.startsWith('m=audio ');
      if (inAudio && port < 0) port = Number(line.split(' ')[1]);
    } else if (line.startsWith('c=')) {
      const address = line.split(' ')[2] ?? '';
      if (port < 0 && !inAudio) session = address;
      else if (inAudio && media === '') media = address;
    }
  }
  const address = media || session;
  if (port <= 0 || address === '') return undefined;
  return { address, port };
}

/** An SDP offer or answer for one PCMU (+ telephone-event) stream at `address:port`. */
export function pcmuSdp(address: string, port: number): string {
  const session = randomInt(1, 2 ** 31);
  return [
    'v=0',
    `o=bench ${session} ${session} IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}
