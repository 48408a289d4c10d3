import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../../test/support/scratch.js';
import { abandonedRunDirs, makeRunDir, removeAbandonedRunDirs } from './run-dirs.js';

/** The pid of a process that has run and exited. */
function deadPid(): number {
  const pid = spawnSync('true').pid;
  if (pid === undefined) throw new Error('could not spawn');
  return pid;
}

describe('stack work directories', () => {
  it('removes only those whose launcher is gone, never one that names no launcher or a live one', () => {
    const runs = scratchDir('stack-runs');
    const mine = makeRunDir(runs);
    const orphaned = makeRunDir(runs, deadPid());
    mkdirSync(join(orphaned, 'kafka-logs'));
    writeFileSync(join(orphaned, 'kafka-logs', 'segment'), 'x');
    const unnamed = join(runs, 'run-before-launchers');
    mkdirSync(unnamed);
    const garbled = join(runs, 'run-garbled');
    mkdirSync(garbled);
    writeFileSync(join(garbled, 'launcher.pid'), 'not a pid\n');
    const other = join(runs, 'notes');
    mkdirSync(other);
    writeFileSync(join(other, 'launcher.pid'), `${deadPid()}\n`);

    expect(abandonedRunDirs(runs)).toEqual([orphaned]);
    expect(removeAbandonedRunDirs(runs)).toEqual([orphaned]);
    expect(existsSync(orphaned)).toBe(false);
    for (const kept of [mine, unnamed, garbled, other]) expect(existsSync(kept)).toBe(true);
    expect(removeAbandonedRunDirs(runs)).toEqual([]);
  });

  it('finds nothing under a directory that does not exist', () => {
    expect(abandonedRunDirs(join(scratchDir('stack-runs'), 'absent'))).toEqual([]);
  });

  it('asks whether each named launcher is alive', () => {
    const runs = scratchDir('stack-runs');
    const a = makeRunDir(runs, 101);
    makeRunDir(runs, 202);
    expect(abandonedRunDirs(runs, (pid) => pid === 202)).toEqual([a]);
  });
});
