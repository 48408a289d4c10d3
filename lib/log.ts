/** Structured logging: one JSON object per line on stdout (stderr for warn/error). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(
  base: LogFields = {},
  options: { level?: LogLevel; write?: (line: string, level: LogLevel) => void } = {},
): Logger {
  const threshold =
    RANK[options.level ?? (process.env.TRIBUTARY_LOG_LEVEL as LogLevel | undefined) ?? 'info'] ?? 20;
  const write =
    options.write ??
    ((line: string, level: LogLevel) =>
      (level === 'warn' || level === 'error' ? process.stderr : process.stdout).write(`${line}\n`));
  const emit = (level: LogLevel, event: string, fields: LogFields = {}) => {
    if (RANK[level] < threshold) return;
    write(
      JSON.stringify({ time: new Date().toISOString(), level, ...base, event, ...fields }, errorReplacer),
      level,
    );
  };
  return {
    debug: (event, fields) => emit('debug', event, fields),
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
    child: (fields) => createLogger({ ...base, ...fields }, options),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const coded = value as Error & { code?: unknown };
    return { name: value.name, message: value.message, code: coded.code };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** A logger that drops everything: for tests and benchmarks that print their own figures. */
export const silentLogger: Logger = createLogger({}, { level: 'error', write: () => {} });
