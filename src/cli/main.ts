import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import {
  loadCertCommandOptions,
  runCertCsr,
  runCertExport,
  runCertImport,
  runCertShow,
  type CertCommandOptions,
} from './commands/cert.js';
import { runConfigCheck } from './commands/config-check.js';
import { runAuditCommand } from './commands/audit.js';
import { runDemo } from './commands/demo.js';
import { addEraseCommand } from './commands/erase.js';
import { addExportCommand } from './commands/export.js';
import { runGroupCommand } from './commands/group.js';
import { runOnedriveAuthorize, runOnedriveRedeem } from './commands/onedrive.js';
import { runUploadsRetry, runUploadsStatus } from './commands/uploads.js';
import { runRecordingsHold, runRecordingsList } from './commands/recordings.js';
import { runRecordingsDisposals } from './commands/recordings-disposals.js';
import { runRecordingControl } from './commands/recording-control.js';
import { runRetentionCommand } from './commands/retention.js';
import { runRecoverCommand } from './commands/recover.js';
import { runVerifyCommand } from './commands/verify.js';
import { runServerCommand } from './commands/run.js';
import { configPathFrom } from './config-path.js';

/** The repository/install root: dist/src/cli/main.js -> ../../.. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const CONFIG_HELP = 'config file (default: $CALLREC_CONFIG or config/callrec.json)';

function exitWith(code: number): void {
  process.exitCode = code;
}

/** The `callrec` command line (SPEC §11). */
export function buildProgram(): Command {
  const program = new Command('callrec')
    .description('SIP B2BUA with an embedded, signing, archiving call recorder')
    .version('0.1.0')
    .showHelpAfterError();

  program
    .command('run')
    .description('start the B2BUA on sip.listen and run until SIGTERM')
    .option('--config <file>', 'config file (default: $CALLREC_CONFIG or config/callrec.json)')
    .action(async (options: { config?: string }) => exitWith(await runServerCommand(configPathFrom(options.config))));

  const config = program.command('config').description('configuration tools');
  config
    .command('check')
    .description('validate the config against config/callrec.schema.json; exit 0 valid, 1 invalid')
    .option('--config <file>', 'config file (default: $CALLREC_CONFIG or config/callrec.json)')
    .action(async (options: { config?: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(await runConfigCheck(configPathFrom(options.config), out));
    });

  const cert = program.command('cert').description('the installation key and its verification certificate');
  const withCertOptions = async (
    config: string | undefined,
    run: (options: CertCommandOptions) => Promise<number>,
  ): Promise<void> => {
    const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
    const options = await loadCertCommandOptions(configPathFrom(config), out);
    exitWith(options === undefined ? 2 : await run(options));
  };
  cert
    .command('show')
    .description('print the certificate: PEM, serial, SHA-256 fingerprint, validity')
    .option('--config <file>', CONFIG_HELP)
    .action((o: { config?: string }) => withCertOptions(o.config, (options) => runCertShow(options)));
  cert
    .command('export')
    .description('write the certificate (and chain) as PEM')
    .requiredOption('--out <pem>', 'output file, or - for stdout')
    .option('--config <file>', CONFIG_HELP)
    .action((o: { config?: string; out: string }) =>
      withCertOptions(o.config, (options) => runCertExport({ ...options, outFile: o.out })),
    );
  cert
    .command('csr')
    .description('write a PKCS#10 certificate signing request for a CA')
    .requiredOption('--out <file>', 'output file, or - for stdout')
    .option('--config <file>', CONFIG_HELP)
    .action((o: { config?: string; out: string }) =>
      withCertOptions(o.config, (options) => runCertCsr({ ...options, outFile: o.out })),
    );
  cert
    .command('import')
    .description('install a CA-signed certificate (and chain) for the installation key')
    .argument('<pem>', 'certificate file, leaf and CA certificates')
    .option('--config <file>', CONFIG_HELP)
    .action((file: string, o: { config?: string }) =>
      withCertOptions(o.config, (options) => runCertImport({ ...options, file })),
    );

  program
    .command('verify')
    .description('check every recording in a folder: checksums, signature, chain; exit 0 ok, 1 failed, 2 usage/I/O')
    .argument('<dir>', 'folder with <id>.json, audio, <id>.sha256, <id>.sha256.SHA256withRSA.sig')
    .option('--cert <pem>', 'verification certificate (default: cert.pem / certificate.pem in the folder)')
    .option('--allow-gaps', 'report gaps in the chain as notes (folders holding part of the chain)')
    .action(async (dir: string, o: { cert?: string; allowGaps?: boolean }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(
        await runVerifyCommand(
          dir,
          { ...(o.cert === undefined ? {} : { cert: o.cert }), ...(o.allowGaps === true ? { allowGaps: true } : {}) },
          out,
        ),
      );
    });

  const group = program.command('group').description("switch a user's group membership (recording) off and on");
  for (const action of ['login', 'logout', 'status'] as const) {
    group
      .command(action)
      .description(
        action === 'status'
          ? 'print whether <user> is active in <group>'
          : `${action === 'login' ? 'switch on' : 'switch off'} <user>'s membership of <group> (audited)`,
      )
      .argument('<group>', 'group id from the config')
      .argument('<user>', 'user id from the config')
      .option('--config <file>', CONFIG_HELP)
      .action(async (groupId: string, userId: string, o: { config?: string }) => {
        const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
        exitWith(await runGroupCommand(action, groupId, userId, { configPath: configPathFrom(o.config), out }));
      });
  }

  program
    .command('audit')
    .description('print the audit log (who changed membership, config, keys, recordings)')
    .option('--since <iso>', 'only entries at or after this time')
    .option('--config <file>', CONFIG_HELP)
    .action(async (o: { config?: string; since?: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(
        await runAuditCommand({
          configPath: configPathFrom(o.config),
          out,
          ...(o.since === undefined ? {} : { since: o.since }),
        }),
      );
    });

  const uploads = program.command('uploads').description('the archive upload queue');
  uploads
    .command('status')
    .description('per target: pending, uploading, failed, done, oldest waiting, last error; exit 1 when any failed')
    .option('--json', 'print JSON')
    .option('--config <file>', CONFIG_HELP)
    .action(async (o: { config?: string; json?: boolean }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(await runUploadsStatus({ configPath: configPathFrom(o.config), out, json: o.json === true }));
    });
  uploads
    .command('retry')
    .description('make failed uploads due now (audited)')
    .argument('[target]', 'only this target')
    .option('--config <file>', CONFIG_HELP)
    .action(async (target: string | undefined, o: { config?: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(
        await runUploadsRetry({
          configPath: configPathFrom(o.config),
          out,
          ...(target === undefined ? {} : { targetId: target }),
        }),
      );
    });

  program
    .command('recover')
    .description(
      'crash recovery without SIP: repair, seal and queue recordings a crash left unfinished; exit 0 ok, 1 failed',
    )
    .option('--config <file>', CONFIG_HELP)
    .action(async (o: { config?: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(await runRecoverCommand({ configPath: configPathFrom(o.config), out }));
    });

  const onedrive = program.command('onedrive').description('connect a OneDrive archive target (OAuth 2.0)');
  onedrive
    .command('authorize')
    .description('print the Microsoft consent URL for a onedrive target')
    .argument('[target]', 'target id (needed when there are several onedrive targets)')
    .option('--config <file>', CONFIG_HELP)
    .action(async (target: string | undefined, o: { config?: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(await runOnedriveAuthorize(configPathFrom(o.config), target, out));
    });
  onedrive
    .command('redeem')
    .description('redeem the code from the consent redirect; stores the refresh token encrypted')
    .argument('<code>', 'the code, or the whole redirect URL')
    .argument('[target]', 'target id (needed when there are several onedrive targets)')
    .option('--config <file>', CONFIG_HELP)
    .action(async (code: string, target: string | undefined, o: { config?: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(await runOnedriveRedeem(configPathFrom(o.config), code, target, out));
    });

  const recordings = program.command('recordings').description('the recording catalogue, legal holds, disposal log');
  recordings
    .command('list')
    .description('recordings oldest first (audited); numbers match in any format; deleted ones with --all')
    .option('--number <n>', 'only recordings with this caller or callee (any format)')
    .option('--since <iso>', 'only recordings that started at or after this time')
    .option('--until <iso>', 'only recordings that started before this time')
    .option('--json', 'print a JSON array')
    .option('--all', 'include deleted recordings')
    .option('--config <file>', CONFIG_HELP)
    .action(
      async (o: {
        config?: string;
        number?: string;
        since?: string;
        until?: string;
        json?: boolean;
        all?: boolean;
      }) => {
        const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
        exitWith(
          await runRecordingsList({
            configPath: configPathFrom(o.config),
            out,
            json: o.json === true,
            all: o.all === true,
            ...(o.number === undefined ? {} : { number: o.number }),
            ...(o.since === undefined ? {} : { since: o.since }),
            ...(o.until === undefined ? {} : { until: o.until }),
          }),
        );
      },
    );
  recordings
    .command('hold')
    .description('put a recording under legal hold: retention and erasure skip it (audited); exit 1 unknown id')
    .argument('<id>', 'recording id')
    .requiredOption('--reason <text>', 'why it must be kept (case, request)')
    .option('--config <file>', CONFIG_HELP)
    .action(async (id: string, o: { config?: string; reason: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(await runRecordingsHold('hold', { configPath: configPathFrom(o.config), out, id, reason: o.reason }));
    });
  recordings
    .command('release')
    .description('lift the legal hold of a recording (audited); exit 1 unknown id')
    .argument('<id>', 'recording id')
    .option('--config <file>', CONFIG_HELP)
    .action(async (id: string, o: { config?: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(await runRecordingsHold('release', { configPath: configPathFrom(o.config), out, id }));
    });
  for (const action of ['pause', 'resume'] as const) {
    recordings
      .command(action)
      .description(
        `${action} the recording of a running call via the admin endpoint (audited); exit 0 done, 1 no such call, 2 unreachable`,
      )
      .argument('<callId>', "recording id or the caller's Call-ID")
      .option('--config <file>', CONFIG_HELP)
      .action(async (callId: string, o: { config?: string }) => {
        const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
        exitWith(await runRecordingControl(action, { configPath: configPathFrom(o.config), out, callId }));
      });
  }
  recordings
    .command('disposals')
    .description('the signed disposal log, verified (chain and signatures); exit 0 verified, 1 failed')
    .option('--since <iso>', 'only entries at or after this time')
    .option('--json', 'print JSON with the signed text of each entry')
    .option('--cert <pem>', "verify with this certificate (default: the keystore's)")
    .option('--config <file>', CONFIG_HELP)
    .action(async (o: { config?: string; since?: string; json?: boolean; cert?: string }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(
        await runRecordingsDisposals({
          configPath: configPathFrom(o.config),
          out,
          json: o.json === true,
          ...(o.since === undefined ? {} : { since: o.since }),
          ...(o.cert === undefined ? {} : { cert: o.cert }),
        }),
      );
    });

  program
    .command('retention')
    .description('retention of recordings')
    .command('run')
    .description('delete recordings past their retention everywhere, except held ones; exit 1 when one failed')
    .option('--as-of <iso>', 'judge ages as if it were this time (default: now)')
    .option('--dry-run', 'list what would be deleted; delete nothing')
    .option('--config <file>', CONFIG_HELP)
    .action(async (o: { config?: string; asOf?: string; dryRun?: boolean }) => {
      const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
      exitWith(
        await runRetentionCommand({
          configPath: configPathFrom(o.config),
          out,
          dryRun: o.dryRun === true,
          ...(o.asOf === undefined ? {} : { asOf: o.asOf }),
        }),
      );
    });

  addExportCommand(program, resolve(ROOT, 'bin', 'verify.sh'), exitWith);
  addEraseCommand(program, exitWith);

  program
    .command('demo')
    .description('start callrec on loopback with the example config and exercise it with SIPp')
    .option('--once', 'stop after the self-test (default when stdout is not a terminal)')
    .action(async (options: { once?: boolean }) => {
      exitWith(await runDemo({ root: ROOT, keepRunning: options.once !== true && process.stdout.isTTY }));
    });

  return program;
}

// SPEC §11: usage errors exit 2 (commander's default is 1)
const program = buildProgram();
const overrideExit = (command: Command): void => {
  command.exitOverride();
  for (const sub of command.commands) overrideExit(sub);
};
overrideExit(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  const code = (error as { code?: string; exitCode?: number }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help')
    process.exitCode = 0;
  else if (typeof code === 'string' && code.startsWith('commander.')) process.exitCode = 2;
  else throw error;
}
