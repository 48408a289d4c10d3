/**
 * The local stack's work directories (.cache/stack-runs/run-*: Kafka's log dirs, the registry's
 * files). stop() removes its own; a stack whose launcher was SIGKILLed cannot (its JVMs still go,
 * through supervise.sh), so each new stack removes those whose launcher is gone, named in a file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from './process.js';

const LAUNCHER_FILE = 'launcher.pid';

/** A new work directory under `runsDir`, naming this process as its launcher. */
export function makeRunDir(runsDir: string, launcherPid: number = process.pid): string {
  const dir = mkdtempSync(join(runsDir, 'run-'));
  writeFileSync(join(dir, LAUNCHER_FILE), `${launcherPid}\n`);
  return dir;
}

/**
 * The work directories under `runsDir` whose launcher is no longer running. A directory that names
 * no launcher (made before launchers were recorded, or still being made) is never one of them.
 */
export function abandonedRunDirs(runsDir: string, alive: (pid: number) => boolean = isAlive): string[] {
  let entries: string[];
  try {
    entries = readdirSync(runsDir).filter((name) => name.startsWith('run-'));
  } catch {
    return [];
  }
  return entries
    .map((name) => join(runsDir, name))
    .filter((dir) => {
      let pid: number;
      try {
        pid = Number(readFileSync(join(dir, LAUNCHER_FILE), 'utf8').trim());
      } catch {
        return false;
      }
      return Number.isInteger(pid) && pid > 0 && !alive(pid);
    });
}

/** Removes the abandoned work directories; returns them. */
export function removeAbandonedRunDirs(runsDir: string): string[] {
  const abandoned = abandonedRunDirs(runsDir);
  for (const dir of abandoned) rmSync(dir, { recursive: true, force: true });
  return abandoned;
}
