import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../config/index.js';
import { createLogger } from '../../observability/index.js';
import { findFreePort } from '../free-port.js';
import { startServer } from '../server.js';

export interface DemoOptions {
  /** Repository root (where config/ and sipp-scenarios/ are). */
  readonly root: string;
  /** Keep serving after the self-test until Ctrl-C. @default true on a terminal */
  readonly keepRunning: boolean;
}

function runSipp(args: readonly string[]): Promise<number | 'missing'> {
  return new Promise((resolvePromise) => {
    const child = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.once('error', () => resolvePromise('missing'));
    child.once('exit', (code) => resolvePromise(code ?? 1));
  });
}

/**
 * `callrec demo` (and `npm start`): writes a loopback variant of config/callrec.example.json to
 * var/demo/, starts callrec on it, sends it an OPTIONS with SIPp over UDP and TCP, and prints how
 * to do that yourself.
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
  };
  const port = await findFreePort('127.0.0.1', 5060);
  // A demo installation gets its own random keystore password, kept next to its config (0600)
  const passwordFile = join(demoDir, 'keystore-password');
  try {
    await writeFile(passwordFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const config = {
    ...example,
    $schema: join(options.root, 'config', 'callrec.schema.json'),
    installation: { ...example.installation, dataDir: join(demoDir, 'data'), keystorePassword: { file: passwordFile } },
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
    pbx: { addresses: ['127.0.0.3'], uri: 'sip:127.0.0.3:5060' },
  };
  const configPath = join(demoDir, 'callrec.json');
  await writeFile(configPath, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });

  const loaded = await loadConfig(configPath);
  if (!loaded.ok) {
    for (const error of loaded.errors) process.stderr.write(`${error.path}: ${error.message}\n`);
    return 1;
  }
  const logger = createLogger({ level: 'info' });
  const server = await startServer(loaded.config, configPath, logger);
  const scenario = join(options.root, 'sipp-scenarios', 'uac-options-expect-200.xml');
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out('');
  out(`callrec demo: listening on udp and tcp 127.0.0.1:${port} (config ${configPath})`);
  let failed = false;
  for (const transport of ['u1', 't1'] as const) {
    const code = await runSipp([
      '-sf',
      scenario,
      '-m',
      '1',
      '-t',
      transport,
      '-i',
      '127.0.0.1',
      '-nostdin',
      '-timeout',
      '10s',
      '-timeout_error',
      `127.0.0.1:${port}`,
    ]);
    if (code === 'missing') {
      out('SIPp is not installed (apt-get install sip-tester); skipping the self-test.');
      break;
    }
    const name = transport === 'u1' ? 'UDP' : 'TCP';
    out(`SIPp OPTIONS over ${name}: ${code === 0 ? '200 OK received' : `FAILED (sipp exit ${code})`}`);
    if (code !== 0) failed = true;
  }
  out('');
  out('Send it an OPTIONS yourself:');
  out(`  sipp -sf sipp-scenarios/uac-options-expect-200.xml -m 1 -i 127.0.0.1 127.0.0.1:${port}           # UDP`);
  out(`  sipp -sf sipp-scenarios/uac-options-expect-200.xml -m 1 -i 127.0.0.1 -t t1 127.0.0.1:${port}     # TCP`);
  out(
    `  sipp -sf sipp-scenarios/uac-options-expect-403.xml -m 1 -i 127.0.0.2 127.0.0.1:${port}           # non-peer -> 403`,
  );
  if (!options.keepRunning) {
    await server.close();
    return failed ? 1 : 0;
  }
  out('Press Ctrl-C to stop.');
  return new Promise<number>((resolvePromise) => {
    const stop = () => {
      server
        .close()
        .then(() => resolvePromise(failed ? 1 : 0))
        .catch(() => resolvePromise(1));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
