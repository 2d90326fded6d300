import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { runConfigCheck } from './commands/config-check.js';
import { runDemo } from './commands/demo.js';
import { runServerCommand } from './commands/run.js';
import { configPathFrom } from './config-path.js';

/** The repository/install root: dist/src/cli/main.js -> ../../.. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

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

  program
    .command('demo')
    .description('start callrec on loopback with the example config and exercise it with SIPp')
    .option('--once', 'stop after the self-test (default when stdout is not a terminal)')
    .action(async (options: { once?: boolean }) => {
      exitWith(await runDemo({ root: ROOT, keepRunning: options.once !== true && process.stdout.isTTY }));
    });

  return program;
}

await buildProgram().parseAsync(process.argv);
