/**
 * Each way the local stack can fail to start gives one clear, typed error (with the log tail where
 * a process wrote one), and leaves no JVM and no work directory behind. Issue #2.
 */
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scratchDir } from '../support/scratch.js';
import { isTributaryError, StackError } from '../../lib/core/errors.js';
import { defaultCacheDir } from '../../infra/stack/artifacts.js';
import { startStack } from '../../infra/stack/index.js';
import { freePort } from '../../infra/stack/ports.js';
import { stackJvmPids } from './processes.js';

async function startFailure(options: Parameters<typeof startStack>[0]): Promise<StackError> {
  try {
    const stack = await startStack({ mode: 'local', ...options });
    await stack.stop();
  } catch (error) {
    if (error instanceof StackError) return error;
    throw error;
  }
  throw new Error('expected the stack to fail to start');
}

const jvmsBefore = new Set<number>();
// Integration files run one at a time: a work directory that appears during a test is its stack's.
const RUNS_DIR = join(defaultCacheDir(), '..', 'stack-runs');
const runDirs = () => (existsSync(RUNS_DIR) ? readdirSync(RUNS_DIR) : []);
let runDirsBefore = new Set<string>();
beforeEach(() => {
  runDirsBefore = new Set(runDirs());
});
afterEach(async () => {
  const leftover = (await stackJvmPids()).filter((pid) => !jvmsBefore.has(pid));
  expect(leftover, 'stack JVMs left running after a failed start').toEqual([]);
  const left = runDirs().filter((name) => !runDirsBefore.has(name));
  expect(left, 'stack work directories left after a failed start').toEqual([]);
});

describe('stack start-up failures', () => {
  it('reports a missing Java', async () => {
    for (const pid of await stackJvmPids()) jvmsBefore.add(pid);
    const error = await startFailure({ javaCandidates: ['/nonexistent/bin/java'] });
    expect(error.code).toBe('TRIB_JAVA_MISSING');
    expect(error.message).toMatch(/Java 17\+/);
  });

  it('reports a Java older than 17', async () => {
    const dir = scratchDir('old-java');
    const fakeJava = join(dir, 'java');
    writeFileSync(fakeJava, '#!/bin/sh\necho \'openjdk version "11.0.22" 2024-01-16\' >&2\n');
    chmodSync(fakeJava, 0o755);
    const error = await startFailure({ javaCandidates: [fakeJava] });
    expect(error.code).toBe('TRIB_JAVA_TOO_OLD');
    expect(error.message).toContain('(11)');
  });

  it('reports a port that is already taken', async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const error = await startFailure({ kafkaPort: port });
      expect(error.code).toBe('TRIB_PORT_IN_USE');
      expect(error.message).toContain(String(port));
    } finally {
      squatter.close();
    }
  });

  it('reports an empty cache when no Maven repository is reachable', async () => {
    const closedPort = await freePort();
    const error = await startFailure({
      cacheDir: scratchDir('empty-cache'),
      mavenRepoLocal: scratchDir('empty-m2'),
      mavenMirrorUrl: `http://127.0.0.1:${closedPort}/maven2`,
    });
    expect(error.code).toBe('TRIB_ARTIFACTS_UNAVAILABLE');
    expect(error.message).toContain(`127.0.0.1:${closedPort}`);
    expect(error.logTail).toMatch(/Could not|Connection refused|Failed/i);
  });

  it('reports a registry that never becomes healthy, with its log tail', async () => {
    // The registry runs, but on another port than the one probed: it never answers there.
    const elsewhere = await freePort();
    const error = await startFailure({
      registryReadyTimeoutMs: 15_000,
      registrySystemProperties: { 'quarkus.http.port': String(elsewhere) },
    });
    expect(isTributaryError(error, 'TRIB_REGISTRY_UNHEALTHY')).toBe(true);
    // The tail is the registry's own. A loaded host may not bring it as far as listening within the
    // timeout (a CI run stopped at its database's initialisation); when it does, it is elsewhere.
    expect(error.logTail).toMatch(/apicurio|quarkus/i);
    const listening = /Listening on: http:\/\/127\.0\.0\.1:(\d+)/.exec(error.logTail);
    expect(listening?.[1] ?? String(elsewhere)).toBe(String(elsewhere));
  });

  it('reports a registry that dies during start-up, with its log tail', async () => {
    const error = await startFailure({
      registrySystemProperties: { 'apicurio.storage.kind': 'no-such-storage' },
    });
    expect(['TRIB_PROCESS_EXITED', 'TRIB_REGISTRY_UNHEALTHY']).toContain(error.code);
    expect(error.logTail).toMatch(/no-such-storage|storage/i);
  });
});
