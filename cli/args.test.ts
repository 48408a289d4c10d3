import { describe, expect, it } from 'vitest';
import { helpText, keyValues, parseArgs, type CommandSpec } from './args.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'a command for tests',
  usage: 'tributary demo <task> [flags]',
  positionals: [{ name: 'task', required: true, help: 'a task' }],
  flags: {
    workers: { type: 'int', min: 1, default: '8', help: 'workers' },
    alpha: { type: 'number', min: 0.001, help: 'α' },
    delay: { type: 'string', choices: ['none', 'heterogeneous'], help: 'speeds' },
    secure: { type: 'boolean', help: 'TLS' },
    set: { type: 'list', placeholder: 'key=value', help: 'config' },
  },
};

describe('parseArgs', () => {
  it('reads positionals, flags in both spellings, lists, and defaults', () => {
    const parsed = parseArgs(spec, [
      't.ts',
      '--workers',
      '3',
      '--alpha=0.5',
      '--secure',
      '--set',
      'a=1',
      '--set=b=x=y',
    ]);
    expect(parsed.problems).toEqual([]);
    expect(parsed.positionals).toEqual({ task: 't.ts' });
    expect(parsed.flags).toEqual({ workers: 3, alpha: 0.5, secure: true, set: ['a=1', 'b=x=y'] });
    expect(keyValues(parsed.flags.set as string[])).toEqual({ a: '1', b: 'x=y' });
    expect(parseArgs(spec, ['t.ts']).flags.workers).toBe(8);
  });

  it('gives one line per bad argument, all of them', () => {
    const parsed = parseArgs(spec, [
      '--workers',
      '0',
      '--alpha',
      'x',
      '--delay',
      'slow',
      '--colour',
      'red',
      '--secure=yes',
      '--set',
      'novalue',
      '--alpha',
    ]);
    expect(parsed.problems).toEqual([
      '--workers: must be a whole number >= 1, got "0"',
      '--alpha: must be a number >= 0.001, got "x"',
      '--delay: must be one of none, heterogeneous, got "slow"',
      '--colour: unknown flag (see tributary demo --help)',
      '--secure: takes no value',
      '--set: must be key=value, got "novalue"',
      '--alpha: needs a value (number)',
    ]);
    // "red" (after the unknown flag) was taken as <task>; a second positional is one too many.
    expect(parsed.positionals.task).toBe('red');
    expect(parseArgs(spec, ['a', 'b']).problems).toEqual(['"b": unexpected argument']);
    expect(parseArgs(spec, []).problems).toEqual(['<task>: required (a task)']);
  });

  it('asks for no positional when --help is given', () => {
    const parsed = parseArgs(spec, ['--help']);
    expect(parsed.help).toBe(true);
    expect(parsed.problems).toEqual([]);
  });
});

describe('helpText', () => {
  it('lists the usage, every argument and flag with its default', () => {
    const text = helpText(spec);
    expect(text).toContain('Usage: tributary demo <task> [flags]');
    expect(text).toContain('<task>');
    expect(text).toMatch(/--workers <int>\s+workers \(default 8\)/);
    expect(text).toMatch(/--delay <none\|heterogeneous>\s+speeds/);
    expect(text).toMatch(/--secure\s+TLS/);
    expect(text).toContain('--help');
  });
});
