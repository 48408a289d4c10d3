/**
 * Reading a service's configuration from the environment: each reader records a precise problem
 * instead of throwing, so a bad start-up reports every bad field at once (ConfigError).
 */
import { ConfigError } from './core/errors.js';

export class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  string(name: string, fallback?: string): string {
    const raw = this.env[name];
    if (raw !== undefined && raw !== '') return raw;
    if (fallback !== undefined) return fallback;
    this.problems.push(`${name}: required`);
    return '';
  }

  optionalString(name: string): string | null {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? null : raw;
  }

  number(
    name: string,
    fallback: number,
    check: { min?: number; max?: number; integer?: boolean } = {},
  ): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    const bad =
      !Number.isFinite(value) ||
      (check.integer && !Number.isInteger(value)) ||
      (check.min !== undefined && value < check.min) ||
      (check.max !== undefined && value > check.max);
    if (bad) {
      const range = [
        check.integer ? 'a whole number' : 'a number',
        check.min !== undefined ? `>= ${check.min}` : '',
        check.max !== undefined ? `<= ${check.max}` : '',
      ]
        .filter(Boolean)
        .join(' ');
      this.problems.push(`${name}: must be ${range}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name}: must be one of ${allowed.join(', ')}, got "${raw}"`);
    return fallback;
  }

  list(name: string, fallback: string[]): string[] {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** Adds a cross-field problem when `ok` is false. */
  require(ok: boolean, problem: string): void {
    if (!ok) this.problems.push(problem);
  }

  /** Throws ConfigError listing every problem, else freezes and returns `value`. */
  done<T extends object>(value: T): Readonly<T> {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
    return Object.freeze(value);
  }
}

/** Loads a service's configuration or exits with status 2 and one line per bad field. */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
}
