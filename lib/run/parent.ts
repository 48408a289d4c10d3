/**
 * A service started by another process (`tributary run`, `startFederation`, a benchmark) stops when
 * that process is gone, even if it was SIGKILLed and could not stop its children: without this a
 * crashed test run leaves coordinators and workers behind, still reading Kafka and holding CPU.
 * The launcher names itself in TRIBUTARY_PARENT_PID; a service run by hand has no parent to watch.
 */
import { isAlive } from '../../infra/stack/process.js';
import type { EnvReader } from '../config.js';

/** The environment a launcher gives the processes it starts, so that they stop when it is gone. */
export function parentWatchEnv(pid: number = process.pid): Record<string, string> {
  return { TRIBUTARY_PARENT_PID: String(pid) };
}

/** TRIBUTARY_PARENT_PID of a service's config: the launcher to stop with, or null (none). */
export function readParentPid(r: EnvReader): number | null {
  return r.number('TRIBUTARY_PARENT_PID', 0, { integer: true, min: 0 }) || null;
}

/**
 * Calls `onGone` once when `parentPid` is no longer this process's parent, checked every
 * `intervalMs`. The parent pid, not whether that pid is alive: a dead parent's pid can be reused,
 * but its orphaned child is handed to another process (init or a subreaper) at once. The timer
 * does not keep the process alive. Returns a function that stops watching.
 */
export function whenParentGone(
  parentPid: number,
  onGone: () => void,
  intervalMs = 500,
  currentParent: () => number = () => process.ppid,
): () => void {
  const check = () => {
    if (currentParent() === parentPid) return;
    clearInterval(timer);
    onGone();
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * A service's parent watch: when the launcher is gone the service sends itself SIGTERM, so it stops
 * as it would if the launcher had stopped it (a coordinator writes its report, a worker leaves its
 * group), or at once if it has not yet set its handlers; and exits after `graceMs` if stopping hangs.
 * When the launcher was reading its output (`tributary run` writes each child's to runs/<id>/logs),
 * what it logs after the launcher's death is lost.
 */
export function stopWithParent(
  parentPid: number | null,
  log: { warn(event: string, fields?: Record<string, unknown>): void },
  graceMs = 15_000,
): void {
  if (parentPid === null) return;
  // Named but alive and not the parent: a variable inherited from further up (a launcher's child
  // that started this without setting its own), not a launcher to stop with.
  if (process.ppid !== parentPid && isAlive(parentPid)) {
    log.warn('parent-pid-not-parent', { parentPid, parent: process.ppid });
    return;
  }
  whenParentGone(parentPid, () => {
    // If the launcher was reading this process's output, those pipes are broken now, and a write to
    // them would fail (EPIPE) and take the process down before it stops. What it logs goes nowhere.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
    log.warn('parent-gone', { parentPid, graceMs });
    setTimeout(() => process.exit(1), graceMs).unref();
    process.kill(process.pid, 'SIGTERM');
  });
}
