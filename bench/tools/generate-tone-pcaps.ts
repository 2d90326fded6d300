/**
 * `node dist/bench/tools/generate-tone-pcaps.js <outdir>`: writes the RTP tone captures the media
 * SIPp scenarios play (`scenarioPcaps()`, committed under sipp-scenarios/pcap/).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { scenarioPcapBytes, scenarioPcaps } from './tone-pcap.js';

const outArg = process.argv[2];
if (outArg === undefined || outArg.startsWith('-')) {
  process.stderr.write('usage: node dist/bench/tools/generate-tone-pcaps.js <outdir>\n');
  process.exitCode = outArg === '-h' || outArg === '--help' ? 0 : 2;
} else {
  const outDir = resolve(outArg);
  await mkdir(outDir, { recursive: true });
  for (const pcap of scenarioPcaps()) {
    const path = join(outDir, pcap.name);
    await writeFile(path, scenarioPcapBytes(pcap));
    process.stdout.write(`${path}\n`);
  }
}
