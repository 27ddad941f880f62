import type { CommandSpec } from '../../../src/cli/args';
import {
  UsageError,
  choiceFlag,
  helpText,
  numberFlag,
  parseCommand,
  stringFlag,
} from '../../../src/cli/args';

const SPEC: CommandSpec = {
  name: 'tool replay',
  summary: 'Replay things.',
  usage: ['FILE [--limit N]'],
  maxPositionals: 1,
  options: {
    limit: { type: 'string', valueName: 'N', description: 'first N rows' },
    format: { type: 'string', valueName: 'F', description: 'input format' },
    simulate: { type: 'boolean', description: 'simulate' },
  },
};

function usageMessage(argv: string[]): string {
  try {
    parseCommand(SPEC, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('parsed without a usage error');
}

describe('command-line parsing', () => {
  it('parses declared options and positionals', () => {
    const a = parseCommand(SPEC, ['data.csv', '--limit', '10', '--simulate']);
    expect(a.positional).toEqual(['data.csv']);
    expect(numberFlag(a, 'limit', 0)).toBe(10);
    expect(a.flags.get('simulate')).toBe(true);
    expect(stringFlag(a, 'missing')).toBeUndefined();
    expect(numberFlag(parseCommand(SPEC, ['--limit=5']), 'limit', 0)).toBe(5);
    expect(a.help).toBe(false);
  });

  it('names an unknown option, a missing value and a stray argument, and points at --help', () => {
    expect(usageMessage(['--bogus'])).toMatch(
      /tool replay: Unknown option '--bogus'\nSee 'tool replay --help'/,
    );
    expect(usageMessage(['--limit'])).toMatch(/--limit/);
    expect(usageMessage(['a', 'b'])).toMatch(/unexpected argument 'b'/);
  });

  it('rejects a number option that is not a number', () => {
    expect(() => numberFlag(parseCommand(SPEC, ['--limit', 'ten']), 'limit', 0)).toThrow(
      /--limit should be a number, got 'ten'/,
    );
  });

  it('rejects counts below their minimum or not whole, and values outside a list of choices', () => {
    const count = { min: 0, integer: true };
    expect(() => numberFlag(parseCommand(SPEC, ['--limit=-5']), 'limit', 0, count)).toThrow(
      /--limit should be at least 0, got '-5'/,
    );
    expect(() => numberFlag(parseCommand(SPEC, ['--limit', '1.5']), 'limit', 0, count)).toThrow(
      /--limit should be a whole number, got '1.5'/,
    );
    expect(numberFlag(parseCommand(SPEC, ['--limit', '0']), 'limit', 9, count)).toBe(0);
    const formats = ['taobao', 'rees46'] as const;
    expect(() => choiceFlag(parseCommand(SPEC, ['--format', 'taobo']), 'format', formats)).toThrow(
      /--format should be one of taobao, rees46, got 'taobo'/,
    );
    expect(choiceFlag(parseCommand(SPEC, ['--format', 'rees46']), 'format', formats)).toBe('rees46');
    expect(choiceFlag(parseCommand(SPEC, []), 'format', formats)).toBeUndefined();
  });

  it('renders help from the declaration, --help included', () => {
    expect(parseCommand(SPEC, ['--help']).help).toBe(true);
    const text = helpText(SPEC);
    expect(text).toContain('Usage:\n  tool replay FILE [--limit N]');
    expect(text).toMatch(/--limit N\s+first N rows/);
    expect(text).toMatch(/--help\s+print this help and exit/);
  });
});
