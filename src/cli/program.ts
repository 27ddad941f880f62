/**
 * Top-level dispatch: `interest-drift <command> [options]`, `--help`, `--version`.
 * Help goes to stdout with exit 0; misuse goes to stderr with exit 2.
 */
import { describeError, isProcessorError } from '../shared/errors';
import type { CommandSpec } from './args';
import { helpText, isUsageError, parseCommand, UsageError } from './args';
import { COMMANDS, PROGRAM } from './commands';
import { packageVersion } from './version';

const TOP: CommandSpec = {
  name: PROGRAM,
  summary: 'Kafka stream processor: clickstream in; interest migrations, churn risk and profiles out.',
  usage: ['<command> [options]', '<command> --help', '--version'],
  options: { version: { type: 'boolean', description: 'print the version and exit' } },
  maxPositionals: 0,
  footer: `Commands:\n${Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(14)}${c.spec.summary}`)
    .join('\n')}\n\nExit codes: 0 clean stop, 1 fatal error, 2 bad usage or configuration.`,
};

export interface CliIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

const STDIO: CliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

/** Runs one command line; resolves to the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo = STDIO): Promise<number> {
  try {
    const [first, ...rest] = argv;
    const command = first !== undefined && !first.startsWith('-') ? COMMANDS[first] : undefined;
    if (first !== undefined && !first.startsWith('-') && !command) {
      throw new UsageError(`${PROGRAM}: unknown command '${first}'\nSee '${PROGRAM} --help'.`);
    }
    if (!command) {
      const top = parseCommand(TOP, argv);
      if (top.flags.has('version')) {
        io.out(`${PROGRAM} ${packageVersion()}\n`);
        return 0;
      }
      if (top.help) {
        io.out(helpText(TOP));
        return 0;
      }
      throw new UsageError(`${PROGRAM}: a command is required\nSee '${PROGRAM} --help'.`);
    }
    const args = parseCommand(command.spec, rest);
    if (args.help) {
      io.out(helpText(command.spec));
      return 0;
    }
    return await command.run(args);
  } catch (e) {
    if (isUsageError(e)) {
      io.err(`${e.message}\n`);
      return 2;
    }
    io.err(`${describeError(e)}\n`);
    return isProcessorError(e) && e.code === 'CONFIG_INVALID' ? 2 : 1;
  }
}
