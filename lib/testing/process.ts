/** A service as a child process of a test: its output kept (bounded), its exit awaited, its JSON log lines parsed. */
import { spawn, type ChildProcess } from 'node:child_process';
import { parentWatchEnv } from '../run/parent.js';

export class ServiceProcess {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  /** `command`: what runs `args`; Node by default (another, e.g. a Python worker's interpreter). */
  constructor(
    readonly name: string,
    args: readonly string[],
    env: Record<string, string>,
    command: string = process.execPath,
  ) {
    this.child = spawn(command, [...args], {
      // The parent watch: a test runner killed outright does not leave its services running.
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...parentWatchEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    const append = (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.length > 2_000_000) this.output = this.output.slice(-1_000_000);
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The JSON log lines with this event name. */
  events(event: string): Record<string, unknown>[] {
    return this.output
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes(`"event":"${event}"`))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 60_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}
