/**
 * `npm run bench:sip`: parse + serialize throughput of the SIP message layer on one core, for a
 * typical trunk INVITE with SDP and a 200 OK. Target (issue "SIP foundation"): >= 100,000 msg/s.
 * Prints messages per second of elapsed time and per second of CPU time (the machine may be
 * shared). Serializing an unchanged parsed message returns the bytes it was parsed from (see
 * src/sip/message/raw-bytes.ts), so parse+serialize is close to parse alone; for comparison the
 * bench also prints parse alone and the serializer formatting a changed message (a new top Via).
 */
import { loadavg } from 'node:os';
import { parseMessage, serializeMessage, withHeaders, type SipMessage } from '../src/sip/message/index.js';

const SDP = [
  'v=0',
  'o=- 3868237461 3868237461 IN IP4 198.51.100.7',
  's=-',
  'c=IN IP4 198.51.100.7',
  't=0 0',
  'm=audio 30000 RTP/AVP 8 0 9 101',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n');

const INVITE = [
  'INVITE sip:+4930123456500@203.0.113.10:5060;user=phone SIP/2.0',
  'Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-524287-1---6b2d8b7a9e1f3c2d;rport',
  'Max-Forwards: 69',
  'Record-Route: <sip:198.51.100.1;lr>',
  'Contact: <sip:+4940111222@198.51.100.1:5060;transport=udp>',
  'To: <sip:+4930123456500@example.com;user=phone>',
  'From: "Caller Name" <sip:+4940111222@carrier.example;user=phone>;tag=7c1f2a9b',
  'Call-ID: 3c26700c-8e2b1a4f@198.51.100.1',
  'CSeq: 102 INVITE',
  'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, PRACK, UPDATE, INFO',
  'Supported: timer, 100rel, replaces',
  'Session-Expires: 1800;refresher=uac',
  'Min-SE: 90',
  'P-Asserted-Identity: "Caller Name" <sip:+4940111222@carrier.example;user=phone>',
  'User-Agent: CarrierSBC/4.2',
  'Content-Type: application/sdp',
  `Content-Length: ${Buffer.byteLength(SDP)}`,
  '',
  SDP,
].join('\r\n');

const OK = [
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bKc0a80105a1b2c3d4e5f6;rport=5060;received=203.0.113.10',
  'Record-Route: <sip:10.0.0.5;lr>',
  'Contact: <sip:201@10.0.0.5:5060>',
  'To: <sip:201@10.0.0.5>;tag=as6f1e2d3c',
  'From: "Caller Name" <sip:+4940111222@203.0.113.10>;tag=cr-9f8e7d6c',
  'Call-ID: cr-0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  'CSeq: 1 INVITE',
  'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, PRACK, UPDATE, INFO',
  'Supported: timer, replaces',
  'Server: PBX 18.2',
  'Content-Type: application/sdp',
  `Content-Length: ${Buffer.byteLength(SDP)}`,
  '',
  SDP,
].join('\r\n');

interface Rate {
  /** Messages per second of elapsed time. */
  readonly wall: number;
  /** Messages per second of CPU time of this process: what one core does when not shared. */
  readonly cpu: number;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

function run(data: Buffer, seconds: number, serialize: boolean): Rate {
  let count = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 1000; i++) {
      const result = parseMessage(data);
      if (!result.ok) throw new Error('parse failed');
      if (serialize) serializeMessage(result.message);
    }
    count += 1000;
    now = process.hrtime.bigint();
  }
  return { wall: count / (Number(now - start) / 1e9), cpu: count / cpuSeconds(cpuStart) };
}

/** Serializations per second of a message that must be formatted (not parsed as it is). */
function runFormatting(message: SipMessage, seconds: number): Rate {
  let count = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 1000; i++) serializeMessage(message);
    count += 1000;
    now = process.hrtime.bigint();
  }
  return { wall: count / (Number(now - start) / 1e9), cpu: count / cpuSeconds(cpuStart) };
}

function format(rate: number): string {
  return Math.round(rate).toLocaleString('en-US').padStart(9);
}

function measure(name: string, text: string, seconds: number): Rate {
  const data = Buffer.from(text);
  const check = parseMessage(data);
  if (!check.ok) throw new Error(`${name} does not parse: ${check.error.message}`);
  if (!serializeMessage(check.message).equals(data)) throw new Error(`${name} does not serialize to itself`);
  run(data, 0.5, true);
  const both = run(data, seconds, true);
  const parseOnly = run(data, seconds / 2, false);
  const changed = withHeaders(check.message, { prepend: [['Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbench']] });
  const formatting = runFormatting(changed, seconds / 2);
  console.log(
    `${name.padEnd(7)} ${data.length} bytes  parse+serialize/s ${format(both.wall)} (per CPU s ${format(both.cpu)})` +
      `  parse only/s ${format(parseOnly.wall)} (per CPU s ${format(parseOnly.cpu)})` +
      `  serialize changed/s ${format(formatting.wall)} (per CPU s ${format(formatting.cpu)})`,
  );
  return both;
}

const seconds = Number(process.argv[2] ?? 3);
console.log(
  `sip message bench: one core, ${seconds} s per message, node ${process.version}, load ${loadavg()[0]?.toFixed(1)}`,
);
const invite = measure('INVITE', INVITE, seconds);
const ok = measure('200 OK', OK, seconds);
const target = 100_000;
const verdict = (pick: (rate: Rate) => number) => (pick(invite) >= target && pick(ok) >= target ? 'met' : 'NOT met');
console.log(
  `target >= ${target.toLocaleString('en-US')} parse+serialize/s: ${verdict((r) => r.cpu)} per CPU second, ` +
    `${verdict((r) => r.wall)} in elapsed time (elapsed time is lower when other processes share the cores)`,
);
