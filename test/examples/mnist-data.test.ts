/**
 * The MNIST example's binary cache of the `mnist` package's digits: what a process reads from it is
 * bit for bit what parsing the package's JSON gives, and a cache it cannot trust or write is no
 * cache at all.
 */
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDigits } from '../../examples/mnist/data.js';
import { scratchDir } from '../support/scratch.js';

const bytesOf = (a: Float32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('MNIST digits cache', () => {
  it('writes the cache on the first load, and reads back bit for bit what parsing gave', () => {
    const dir = scratchDir('mnist-cache');
    const parsed = loadDigits(dir);
    expect(parsed.labels.length).toBe(10_000);
    expect(parsed.images.length).toBe(10_000 * 784);
    const [file, ...others] = readdirSync(dir);
    expect(others).toEqual([]); // no temporary file left beside it
    expect(statSync(join(dir, file as string)).size).toBe(10_000 * (784 * 4 + 1));

    const cached = loadDigits(dir);
    expect(bytesOf(cached.images).equals(bytesOf(parsed.images))).toBe(true);
    expect(bytesOf(cached.labels).equals(bytesOf(parsed.labels))).toBe(true);
    // Every digit is there, in the package's order (all 0s, then all 1s, ...).
    expect(new Set(cached.labels).size).toBe(10);
    expect([...cached.labels].every((label, i) => i === 0 || label >= (cached.labels[i - 1] as number))).toBe(
      true,
    );
  });

  it('writes a cache of the wrong size again instead of reading it', () => {
    const dir = scratchDir('mnist-cache');
    const parsed = loadDigits(dir);
    const file = join(dir, readdirSync(dir)[0] as string);
    truncateSync(file, 784 * 4 * 3 + 7); // cut mid-row, as a full disk or another writer might
    const reread = loadDigits(dir);
    expect(bytesOf(reread.images).equals(bytesOf(parsed.images))).toBe(true);
    expect(statSync(file).size).toBe(10_000 * (784 * 4 + 1));

    writeFileSync(file, Buffer.alloc(0));
    expect(loadDigits(dir).labels.length).toBe(10_000);
    expect(readFileSync(file).length).toBe(10_000 * (784 * 4 + 1));
  });

  it('parses every time where no cache can be written', () => {
    // A directory under a regular file: no one, root included, can create it.
    const scratch = scratchDir('mnist-cache');
    const blocker = join(scratch, 'a-file');
    writeFileSync(blocker, 'x');
    expect(loadDigits(join(blocker, 'cache')).labels.length).toBe(10_000);
    expect(loadDigits(join(blocker, 'cache')).labels.length).toBe(10_000);
    expect(readdirSync(scratch)).toEqual(['a-file']); // nor a temporary file left anywhere
  });
});
