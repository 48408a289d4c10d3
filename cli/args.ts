/**
 * The command line's parser: declared flags and positionals, every problem collected (one line per
 * bad argument), values checked by type. No dependency: the grammar is small and the error lines
 * are ours.
 */

export type FlagType = 'string' | 'int' | 'number' | 'boolean' | 'list';

export interface FlagSpec {
  readonly type: FlagType;
  readonly help: string;
  /** Shown in --help; also the value when the flag is absent (not for booleans). */
  readonly default?: string;
  /** Allowed values of a string flag. */
  readonly choices?: readonly string[];
  readonly min?: number;
  /** Repeatable (values collected in order): only for 'list'. */
  readonly placeholder?: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly positionals: readonly {
    readonly name: string;
    readonly required: boolean;
    readonly help: string;
  }[];
  readonly flags: Readonly<Record<string, FlagSpec>>;
  readonly details?: string;
}

export interface Parsed {
  readonly positionals: Record<string, string | undefined>;
  readonly flags: Record<string, string | number | boolean | string[] | undefined>;
  readonly help: boolean;
  readonly problems: string[];
}

export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parsed {
  const problems: string[] = [];
  const flags: Parsed['flags'] = {};
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const flag = spec.flags[name];
    if (!flag) {
      problems.push(`--${name}: unknown flag (see tributary ${spec.name} --help)`);
      continue;
    }
    if (flag.type === 'boolean') {
      if (eq !== -1) problems.push(`--${name}: takes no value`);
      flags[name] = true;
      continue;
    }
    let raw: string | undefined;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) raw = argv[++i];
    if (raw === undefined || raw === '') {
      problems.push(`--${name}: needs a value (${flag.placeholder ?? flag.type})`);
      continue;
    }
    const value = convert(name, flag, raw, problems);
    if (value === undefined) continue;
    if (flag.type === 'list') flags[name] = [...((flags[name] as string[] | undefined) ?? []), raw];
    else flags[name] = value;
  }
  for (const [name, flag] of Object.entries(spec.flags))
    if (flags[name] === undefined && flag.default !== undefined && flag.type !== 'boolean')
      flags[name] = convert(name, flag, flag.default, []);
  const named: Record<string, string | undefined> = {};
  spec.positionals.forEach((p, i) => {
    named[p.name] = positionals[i];
    if (p.required && positionals[i] === undefined && !help)
      problems.push(`<${p.name}>: required (${p.help})`);
  });
  for (const extra of positionals.slice(spec.positionals.length))
    problems.push(`${JSON.stringify(extra)}: unexpected argument`);
  return { positionals: named, flags, help, problems };
}

function convert(name: string, flag: FlagSpec, raw: string, problems: string[]): string | number | undefined {
  if (flag.type === 'int' || flag.type === 'number') {
    const value = Number(raw);
    const ok =
      raw.trim() !== '' &&
      Number.isFinite(value) &&
      (flag.type === 'number' || Number.isInteger(value)) &&
      (flag.min === undefined || value >= flag.min);
    if (!ok) {
      const what = flag.type === 'int' ? 'a whole number' : 'a number';
      problems.push(
        `--${name}: must be ${what}${flag.min === undefined ? '' : ` >= ${flag.min}`}, got "${raw}"`,
      );
      return undefined;
    }
    return value;
  }
  if (flag.choices && !flag.choices.includes(raw)) {
    problems.push(`--${name}: must be one of ${flag.choices.join(', ')}, got "${raw}"`);
    return undefined;
  }
  if (flag.type === 'list' && flag.placeholder === 'key=value' && !/^[^=]+=/.test(raw)) {
    problems.push(`--${name}: must be key=value, got "${raw}"`);
    return undefined;
  }
  return raw;
}

export function helpText(spec: CommandSpec): string {
  const lines = [`tributary ${spec.name}: ${spec.summary}`, '', `Usage: ${spec.usage}`, ''];
  if (spec.positionals.length > 0) {
    lines.push('Arguments:');
    for (const p of spec.positionals)
      lines.push(`  <${p.name}>${' '.repeat(Math.max(1, 22 - p.name.length))}${p.help}`);
    lines.push('');
  }
  lines.push('Flags:');
  for (const [name, flag] of Object.entries(spec.flags)) {
    const left = `--${name}${flag.type === 'boolean' ? '' : ` <${flag.placeholder ?? (flag.choices ? flag.choices.join('|') : flag.type)}>`}`;
    const extra = flag.default === undefined ? '' : ` (default ${flag.default})`;
    lines.push(`  ${left}${' '.repeat(Math.max(1, 34 - left.length))}${flag.help}${extra}`);
  }
  lines.push(`  --help${' '.repeat(28)}this text`);
  if (spec.details) lines.push('', spec.details);
  return `${lines.join('\n')}\n`;
}

/** `--set a=1 --set b=x` as an object (strings; the task's config types convert them). */
export function keyValues(list: readonly string[] | undefined): Record<string, string> {
  return Object.fromEntries(
    (list ?? []).map((item) => {
      const eq = item.indexOf('=');
      return [item.slice(0, eq), item.slice(eq + 1)];
    }),
  );
}
