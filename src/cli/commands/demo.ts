import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../config/index.js';
import { verifyFolder } from '../../integrity/index.js';
import { createLogger } from '../../observability/index.js';
import { findFreePort } from '../free-port.js';
import { startServer } from '../server.js';

export interface DemoOptions {
  /** Repository root (where config/ and sipp-scenarios/ are). */
  readonly root: string;
  /** Keep serving after the self-test until Ctrl-C. @default true on a terminal */
  readonly keepRunning: boolean;
}

function startSipp(args: readonly string[]): Promise<number | 'missing'> {
  return new Promise((resolvePromise) => {
    const child = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'ignore'] });
    child.once('error', () => resolvePromise('missing'));
    child.once('exit', (code) => resolvePromise(code ?? 1));
  });
}

/** A free even port on `host` with the next three free too (SIPp binds its RTP port and port + 2). */
async function freeMediaPort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 4990);
    const free = await Promise.all([0, 1, 2, 3].map((offset) => isUdpFree(host, port + offset)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no free media port on ${host}`);
}

function isUdpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolvePromise(false));
    socket.bind(port, host, () => socket.close(() => resolvePromise(true)));
  });
}

async function waitForFile(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await stat(path).then(
        () => true,
        () => false,
      )
    )
      return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * `callrec demo` (and `npm start`), the main job end to end: writes a loopback variant of
 * config/callrec.example.json to var/demo/, starts callrec on it, runs a SIPp call with audio
 * both ways (caller 440 Hz, callee 1000 Hz) from the "trunk" to the trading desk's number through
 * callrec to a SIPp "PBX", and prints the recording it produced: files, metadata, how to verify.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const demoDir = resolve(options.root, 'var', 'demo');
  await mkdir(demoDir, { recursive: true, mode: 0o700 });
  const example = JSON.parse(await readFile(join(options.root, 'config', 'callrec.example.json'), 'utf8')) as Record<
    string,
    unknown
  > & {
    sip: Record<string, unknown>;
    media: Record<string, unknown>;
    installation: Record<string, unknown>;
    profiles: Array<Record<string, unknown>>;
  };
  const port = await findFreePort('127.0.0.1', 5060);
  const pbxPort = await findFreePort('127.0.0.3', 5070);
  const adminPort = await findFreePort('127.0.0.1', 9060);
  // A demo installation gets its own random keystore password, kept next to its config (0600)
  const passwordFile = join(demoDir, 'keystore-password');
  try {
    await writeFile(passwordFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const dataDir = join(demoDir, 'data');
  const config = {
    ...example,
    $schema: join(options.root, 'config', 'callrec.schema.json'),
    installation: { ...example.installation, dataDir, keystorePassword: { file: passwordFile } },
    sip: {
      ...example.sip,
      listen: [
        { transport: 'udp', host: '127.0.0.1', port },
        { transport: 'tcp', host: '127.0.0.1', port },
      ],
      advertise: '127.0.0.1',
    },
    media: { ...example.media, host: '127.0.0.1', advertise: '127.0.0.1' },
    trunk: { addresses: ['127.0.0.1'], uri: 'sip:127.0.0.1:5080' },
    pbx: { addresses: ['127.0.0.3'], uri: `sip:127.0.0.3:${pbxPort}` },
    // Everything stays on this machine: the example's SMB/SFTP/OneDrive targets become a folder
    targets: [{ id: 'archive', type: 'local', path: join(demoDir, 'archive', '$Y', '$M', '$D') }],
    // The example's announcements (config/announcements/) with absolute paths: the demo config lives elsewhere
    profiles: example.profiles.map((profile) => ({
      ...profile,
      targets: ['archive'],
      announcement: demoAnnouncement(profile['announcement'], join(options.root, 'config')),
    })),
    admin: { http: { host: '127.0.0.1', port: adminPort } },
    // No mail from a demo (the example's SMTP server is not on this machine)
    email: undefined,
    // The spool copy stays next to the archived one, so the demo can show both
    uploads: { ...(example['uploads'] as Record<string, unknown>), intervalSeconds: 5, keepLocal: true },
  };
  await mkdir(join(demoDir, 'archive'), { recursive: true, mode: 0o750 });
  const configPath = join(demoDir, 'callrec.json');
  await writeFile(configPath, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });

  const loaded = await loadConfig(configPath);
  if (!loaded.ok) {
    for (const error of loaded.errors) process.stderr.write(`${error.path}: ${error.message}\n`);
    return 1;
  }
  const logger = createLogger({ level: 'info' });
  const server = await startServer(loaded.config, configPath, logger);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const scenarios = join(options.root, 'sipp-scenarios');
  out('');
  out(`callrec demo: listening on udp and tcp 127.0.0.1:${port} (config ${configPath})`);
  const recordings = join(dataDir, 'recordings');
  const before = new Set(await readdir(recordings).catch(() => []));
  const failed = await demoCall({ scenarios, port, pbxPort, out });
  if (failed === 'missing') out('SIPp is not installed (apt-get install sip-tester); skipping the demo call.');
  let code = failed === true ? 1 : 0;
  if (failed === false) {
    const created = (await readdir(recordings).catch(() => [])).filter((name) => !before.has(name));
    const id = created[0];
    if (id === undefined) {
      out('FAILED: the call was not recorded');
      code = 1;
    } else {
      const dir = join(recordings, id);
      const sealed = await waitForFile(join(dir, `${id}.sha256`), 15_000);
      code = sealed ? await printRecording(dir, id, out) : 1;
      if (!sealed) out(`FAILED: recording ${id} was not sealed in time`);
      else
        code = Math.max(code, await printArchived(join(demoDir, 'archive'), id, server.keyStore.certificatePem, out));
    }
  }
  out('');
  out('Make a call yourself (callee first, then the caller; RTP both ways):');
  out(`  sipp -sf sipp-scenarios/uas-media-answer.xml -i 127.0.0.3 -p ${pbxPort} -mi 127.0.0.3 -mp 26000 -m 1 &`);
  out(
    `  sipp -sf sipp-scenarios/uac-media-call-expect-200.xml -i 127.0.0.1 -mi 127.0.0.1 -mp 26010 -m 1 -s +4930123456500 -set audio_ms 4000 127.0.0.1:${port}`,
  );
  out(`Recordings: ${recordings}`);
  if (!options.keepRunning) {
    await server.close();
    return code;
  }
  out('Press Ctrl-C to stop.');
  return new Promise<number>((resolvePromise) => {
    const stop = () => {
      server
        .close()
        .then(() => resolvePromise(code))
        .catch(() => resolvePromise(1));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** A profile's announcement with its files made absolute against `configDir`. */
function demoAnnouncement(announcement: unknown, configDir: string): Record<string, unknown> {
  if (typeof announcement !== 'object' || announcement === null) return {};
  return Object.fromEntries(
    Object.entries(announcement).map(([key, value]) => [
      key,
      (key === 'inbound' || key === 'outbound') && typeof value === 'string' ? resolve(configDir, value) : value,
    ]),
  );
}

interface DemoCallOptions {
  readonly scenarios: string;
  readonly port: number;
  readonly pbxPort: number;
  readonly out: (line: string) => void;
}

/** One recorded call with audio through callrec: true when it failed, 'missing' without SIPp. */
async function demoCall(options: DemoCallOptions): Promise<boolean | 'missing'> {
  const { scenarios, port, pbxPort, out } = options;
  const common = ['-m', '1', '-nostdin', '-timeout', '30s', '-timeout_error'];
  const uasMedia = await freeMediaPort('127.0.0.3');
  const uas = startSipp([
    '-sf',
    join(scenarios, 'uas-media-answer.xml'),
    '-i',
    '127.0.0.3',
    '-p',
    String(pbxPort),
    '-mi',
    '127.0.0.3',
    '-mp',
    String(uasMedia),
    '-set',
    'codec',
    'pcmu',
    ...common,
  ]);
  await new Promise((r) => setTimeout(r, 300));
  const uacMedia = await freeMediaPort('127.0.0.1');
  out('Calling +4930123456500 (the trading desk, recorded both-stereo) from the trunk: the caller hears the');
  out('inbound announcement (config/announcements/inbound.wav) first, then 4 s of audio ...');
  const uac = await startSipp([
    '-sf',
    join(scenarios, 'uac-media-call-expect-200.xml'),
    '-i',
    '127.0.0.1',
    '-mi',
    '127.0.0.1',
    '-mp',
    String(uacMedia),
    '-s',
    '+4930123456500',
    '-set',
    'codec',
    'pcmu',
    '-set',
    'audio_ms',
    '4000',
    ...common,
    `127.0.0.1:${port}`,
  ]);
  const callee = await uas;
  if (uac === 'missing' || callee === 'missing') return 'missing';
  out(`SIPp caller: ${uac === 0 ? 'call completed' : `FAILED (sipp exit ${uac})`}`);
  out(`SIPp callee: ${callee === 0 ? 'call completed' : `FAILED (sipp exit ${callee})`}`);
  return uac !== 0 || callee !== 0;
}

/**
 * Waits for the upload to the demo's local archive target, shows where it landed and verifies the
 * archived copy (checksums, signature with the installation certificate, chain).
 */
async function printArchived(
  root: string,
  id: string,
  certificatePem: string,
  out: (line: string) => void,
): Promise<number> {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const folder = join(root, String(now.getFullYear()), pad(now.getMonth() + 1), pad(now.getDate()));
  if (!(await waitForFile(join(folder, `${id}.sha256.SHA256withRSA.sig`), 20_000))) {
    out(`FAILED: recording ${id} did not reach the archive target ${folder} (see "upload failed" in the log)`);
    return 1;
  }
  out(`Archived to the "archive" target (local, template $Y/$M/$D), read back and checked: ${folder}`);
  // Earlier demo runs share the day's folder; their chain links need not be adjacent to this one
  const verdict = await verifyFolder(folder, { certificatePem, allowChainGaps: true });
  const mine = verdict.recordings.find((recording) => recording.id === id);
  if (mine === undefined || !mine.ok) {
    out(`FAILED: the archived copy does not verify: ${mine?.problems.join('; ') ?? 'not found'}`);
    return 1;
  }
  out(`Verified the archived copy: ${mine.holds.join('; ')}`);
  return 0;
}

/** Prints the recording folder, the metadata's essentials and how to check it without callrec. */
async function printRecording(dir: string, id: string, out: (line: string) => void): Promise<number> {
  const metadata = JSON.parse(await readFile(join(dir, `${id}.json`), 'utf8')) as {
    direction: string;
    profile: string;
    decision: string;
    channels: string;
    recordingDurationMs: number;
    files: Array<{ name: string; sampleRate: number; channels: number; durationMs: number }>;
    legs: Array<{ party: string; codecs: string[]; packets: { received: number; lost: number; foreign: number } }>;
    completeness: { complete: boolean; problems: string[] };
    consent?: { legalBasis: string; outcome: string; announcement: { file: string; sha256: string } | null };
  };
  out('');
  out(`Recording ${id}`);
  out(`  folder     ${dir}`);
  for (const name of (await readdir(dir)).sort()) {
    const size = (await stat(join(dir, name))).size;
    out(`  ${name.padEnd(60)} ${String(size).padStart(9)} bytes`);
  }
  out(`  profile    ${metadata.profile} (${metadata.decision})`);
  const consent = metadata.consent;
  if (consent !== undefined) {
    const played = consent.announcement;
    const file = played === null ? 'no announcement' : `${played.file}, sha256 ${played.sha256.slice(0, 16)}...`;
    out(`  consent    ${consent.legalBasis}: ${consent.outcome} (${file})`);
  }
  out(
    `  direction  ${metadata.direction}, channels ${metadata.channels}, ${metadata.recordingDurationMs} ms connected`,
  );
  for (const file of metadata.files)
    out(`  audio      ${file.name}: ${file.channels} ch, ${file.sampleRate} Hz, ${file.durationMs} ms`);
  for (const leg of metadata.legs)
    out(
      `  ${leg.party.padEnd(10)} ${leg.codecs.join(', ')}; packets ${leg.packets.received} received, ${leg.packets.lost} lost, ${leg.packets.foreign} foreign`,
    );
  out(`  complete   ${metadata.completeness.complete ? 'yes' : `no: ${metadata.completeness.problems.join('; ')}`}`);
  out('Check it with standard tools:');
  out(`  (cd ${dir} && shasum -a 256 -c ${id}.sha256)`);
  out(`  node bin/callrec cert export --out /tmp/callrec-cert.pem --config var/demo/callrec.json`);
  out(`  bin/verify.sh ${dir} /tmp/callrec-cert.pem`);
  return metadata.completeness.complete ? 0 : 1;
}
