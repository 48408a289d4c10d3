/**
 * The package as a user gets it: `npm pack` gives a tarball that installs into an empty directory,
 * where `npx tributary new demo && cd demo && npm test` passes (the scaffold's own integration test,
 * written with tributary/testing, trains on this run's broker and registry). Nothing from the
 * repository is reachable there: the tarball's dist/ is all the code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PACKAGE_ROOT } from '../../lib/run/processes.js';

const npm = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  spawnSync('npm', args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 400_000 });

describe('npm pack', () => {
  it(
    'installs into an empty directory, where `tributary new demo` passes its own test',
    { timeout: 600_000 },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'tributary-pack-'));
      // The tarball, its install and the scaffold's node_modules: about 340 MB a run, left behind before.
      try {
        const started = Date.now();
        const pack = npm(['pack', '--pack-destination', dir, '--silent'], PACKAGE_ROOT);
        expect(pack.status, pack.stderr).toBe(0);
        const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
        expect(tarball).toBeDefined();
        const files = execFileSync('tar', ['tzf', join(dir, tarball as string)], { encoding: 'utf8' }).split(
          '\n',
        );
        expect(files).toContain('package/dist/lib/index.js');
        expect(files).toContain('package/dist/lib/index.d.ts');
        expect(files).toContain('package/dist/lib/testing/index.d.ts');
        expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
        expect(files.some((f) => f.includes('.test.'))).toBe(false);

        const app = join(dir, 'app');
        execFileSync('mkdir', [app]);
        writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
        const install = npm(
          ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball as string)],
          app,
        );
        expect(install.status, install.stderr).toBe(0);
        const installedSeconds = (Date.now() - started) / 1000;

        const scaffold = npm(['exec', '--', 'tributary', 'new', 'demo'], app);
        expect(scaffold.status, scaffold.stderr).toBe(0);
        const test = npm(['test'], join(app, 'demo'), {
          KAFKA_BROKERS: inject('brokers').join(','),
          SCHEMA_REGISTRY_URL: inject('registryUrl'),
          // the demo's own process tree, not this repository's
          NODE_OPTIONS: '',
        });
        expect(test.status, `${test.stdout.slice(-3000)}\n${test.stderr.slice(-3000)}`).toBe(0);
        expect(test.stdout).toMatch(/# pass 1/);
        console.log(
          JSON.stringify({
            test: 'package',
            tarballKiB: Math.round(
              Number(execFileSync('stat', ['-c', '%s', join(dir, tarball as string)], { encoding: 'utf8' })) /
                1024,
            ),
            packAndInstallSeconds: installedSeconds,
            totalSeconds: (Date.now() - started) / 1000,
          }),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
