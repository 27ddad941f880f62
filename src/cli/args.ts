/**
 * Command-line parsing on `node:util` parseArgs in strict mode: every command declares its
 * options, so an unknown option, a missing value or a stray positional is a UsageError (exit 2)
 * with a message that names it, never silently ignored. The same declaration renders `--help`.
 */
import { parseArgs as parseNodeArgs } from 'node:util';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** One line for `--help`; the default, if any, is part of it. */
  readonly description: string;
  /** Placeholder shown in help for a string option, e.g. FILE or N. */
  readonly valueName?: string;
}

export interface CommandSpec {
  /** Full command name as typed, e.g. `interest-drift replay`. */
  readonly name: string;
  readonly summary: string;
  /** Usage lines after the name, e.g. `FILE [--format F]`. */
  readonly usage: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Positional arguments the command takes at most (default 0). */
  readonly maxPositionals?: number;
  /** Free text after the option list (exit codes, environment). */
  readonly footer?: string;
}

export interface Args {
  readonly positional: readonly string[];
  readonly flags: ReadonlyMap<string, string | true>;
  /** `--help` was given: the caller prints helpText(spec) and exits 0. */
  readonly help: boolean;
}

/** Wrong command-line use: the message says what and points at `--help`. Exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isUsageError(e: unknown): e is UsageError {
  return e instanceof Error && e.name === 'UsageError';
}

const HELP: OptionSpec = { type: 'boolean', description: 'print this help and exit' };

export function parseCommand(spec: CommandSpec, argv: readonly string[]): Args {
  const options = { ...spec.options, help: HELP };
  let parsed;
  try {
    parsed = parseNodeArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, { type: o.type }])),
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    throw new UsageError(`${spec.name}: ${cleanMessage(e)}\nSee '${spec.name} --help'.`);
  }
  const help = parsed.values.help === true;
  const max = spec.maxPositionals ?? 0;
  if (!help && parsed.positionals.length > max) {
    const extra = parsed.positionals.slice(max).join(' ');
    throw new UsageError(`${spec.name}: unexpected argument '${extra}'\nSee '${spec.name} --help'.`);
  }
  const flags = new Map<string, string | true>();
  for (const [k, v] of Object.entries(parsed.values)) {
    if (k === 'help' || v === undefined || v === false) continue;
    flags.set(k, v === true ? true : String(v));
  }
  return { positional: parsed.positionals, flags, help };
}

/** node's messages end with a hint about `--` that does not apply to ours; keep the first sentence. */
function cleanMessage(e: unknown): string {
  const message = (e as { message?: unknown } | null)?.message;
  const m = typeof message === 'string' ? message : String(e);
  return m.split('. To specify')[0]?.replace(/\.$/, '') ?? m;
}

export function helpText(spec: CommandSpec): string {
  const lines = [`${spec.summary}`, '', 'Usage:'];
  for (const u of spec.usage) lines.push(`  ${spec.name}${u ? ` ${u}` : ''}`);
  const entries = Object.entries({ ...spec.options, help: HELP });
  const labels = entries.map(([k, o]) => `--${k}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`);
  const width = Math.max(...labels.map((l) => l.length));
  lines.push('', 'Options:');
  entries.forEach(([, o], i) => lines.push(`  ${(labels[i] as string).padEnd(width)}  ${o.description}`));
  if (spec.footer) lines.push('', spec.footer);
  return `${lines.join('\n')}\n`;
}

export interface NumberBounds {
  /** Smallest value allowed. */
  readonly min?: number;
  /** Whole numbers only (counts, offsets, partitions, seeds). */
  readonly integer?: boolean;
}

export function numberFlag(args: Args, name: string, fallback: number, bounds: NumberBounds = {}): number {
  const v = args.flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || v.trim() === '' || !Number.isFinite(n)) {
    throw new UsageError(`--${name} should be a number, got '${String(v)}'`);
  }
  if (bounds.integer && !Number.isInteger(n)) {
    throw new UsageError(`--${name} should be a whole number, got '${v}'`);
  }
  if (bounds.min !== undefined && n < bounds.min) {
    throw new UsageError(`--${name} should be at least ${bounds.min}, got '${v}'`);
  }
  return n;
}

/** A string flag that must be one of `choices`; undefined when not given. */
export function choiceFlag<T extends string>(args: Args, name: string, choices: readonly T[]): T | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return undefined;
  if (!(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} should be one of ${choices.join(', ')}, got '${v}'`);
  }
  return v as T;
}

export function stringFlag(args: Args, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** For scripts (benches, tools): parse against `spec`, print help and exit 0 on `--help`, exit 2 on misuse. */
export function parseScriptArgs(spec: CommandSpec, argv: readonly string[] = process.argv.slice(2)): Args {
  try {
    const args = parseCommand(spec, argv);
    if (args.help) {
      process.stdout.write(helpText(spec));
      process.exit(0);
    }
    return args;
  } catch (e) {
    if (!isUsageError(e)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
}
