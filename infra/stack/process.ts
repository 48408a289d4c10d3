/**
 * A stack child process (a JVM) with its log in a file, a readable log tail for errors, and a
 * guarantee that it stops: on `stop()`, when this Node process exits or is signalled, and (through
 * supervise.sh) when this Node process is killed outright.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StackError } from '../../lib/core/errors.js';

const SUPERVISOR = fileURLToPath(new URL('./supervise.sh', import.meta.url));

export interface ManagedProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const live = new Set<ManagedProcess>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.killNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void Promise.allSettled([...live].map((child) => child.stop())).then(() => {
        // Re-raise so the default handler sets the right exit status, unless the app added its own.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    });
  }
}

/** Whether a process with this pid exists (signal 0 probes without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The last `maxBytes` of a log file, or '' when it does not exist yet. */
export function readLogTail(path: string, maxBytes = 4096): string {
  try {
    const size = statSync(path).size;
    const text = readFileSync(path, 'utf8');
    return size > maxBytes ? text.slice(-maxBytes) : text;
  } catch {
    return '';
  }
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(options: ManagedProcessOptions) {
    installExitHooks();
    this.name = options.name;
    this.logFile = options.logFile;
    const fd = openSync(options.logFile, 'a');
    try {
      this.child = spawn(SUPERVISOR, [String(process.pid), '--', options.command, ...options.args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true, // own process group: a Ctrl-C at the terminal reaches us, and we stop it in order
      });
    } finally {
      closeSync(fd);
    }
    this.child.unref();
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : null);
        live.delete(this);
        resolve(this.exitCode);
      });
      this.child.once('error', () => {
        this.exitCode = 127;
        live.delete(this);
        resolve(127);
      });
    });
    live.add(this);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** undefined while running, else the exit status. */
  get exitStatus(): number | null | undefined {
    return this.exitCode;
  }

  logTail(maxBytes?: number): string {
    return readLogTail(this.logFile, maxBytes);
  }

  /** Rejects with TRIB_PROCESS_EXITED if the process dies; used to race readiness probes. */
  async failOnExit(): Promise<never> {
    const code = await this.exited;
    throw new StackError('TRIB_PROCESS_EXITED', `${this.name} exited during start-up with status ${code}`, {
      logTail: this.logTail(),
      details: { name: this.name, code, logFile: this.logFile },
    });
  }

  /** SIGTERM to the supervisor (which stops the JVM gracefully), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL now, no grace: a node lost outright (tests of failures). */
  killHard(): void {
    this.signal('SIGKILL');
  }

  /** Synchronous last resort for the process 'exit' hook: the supervisor escalates to SIGKILL. */
  killNow(): void {
    this.signal('SIGTERM');
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || this.exitCode !== undefined) return;
    try {
      process.kill(-pid, signal); // the whole group: supervisor and JVM
    } catch {
      // already gone
    }
  }
}
