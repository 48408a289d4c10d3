/**
 * Loading task files as the services do: TypeScript and JavaScript, ESM or not, from a directory
 * outside the repository whose node_modules links Tributary (as `npm install` would).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userProjectDir } from '../../test/support/tasks.js';
import { loadTask } from './load.js';

let dir: string;
const TASK_BODY = `defineTask({
  id: 'tiny',
  config: { width: 4, name: 'x' },
  model: ({ tf, config }) => tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: config.width })] }),
  data: { train: () => [] },
  defaults: { bufferSize: 3 },
})`;

function write(name: string, text: string): string {
  const file = join(dir, name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  return file;
}

beforeAll(() => {
  dir = userProjectDir('tributary-load');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadTask', () => {
  it('loads a TypeScript task outside any package (CommonJS), a directory and an ES module', async () => {
    const ts = write(
      'plain/task.ts',
      `import { defineTask } from 'tributary';\nexport default ${TASK_BODY};\n`,
    );
    const mjs = write(
      'esm/task.mjs',
      `import { defineTask } from 'tributary';\nexport default ${TASK_BODY};\n`,
    );
    for (const spec of [ts, join(dir, 'plain'), mjs]) {
      const loaded = await loadTask(spec, { env: {} });
      expect(loaded.task.id).toBe('tiny');
      expect(loaded.config).toEqual({ width: 4, name: 'x' });
    }
    expect((await loadTask(join(dir, 'plain'), { env: {} })).file).toBe(ts);
  });

  it('applies TRIBUTARY_TASK_CONFIG, then explicit overrides', async () => {
    const loaded = await loadTask(join(dir, 'plain'), {
      env: { TRIBUTARY_TASK_CONFIG: '{"width": 8, "name": "y"}' },
      overrides: { name: 'z' },
    });
    expect(loaded.config).toEqual({ width: 8, name: 'z' });
    await expect(loadTask(join(dir, 'plain'), { env: { TRIBUTARY_TASK_CONFIG: '[1]' } })).rejects.toThrow(
      /TRIBUTARY_TASK_CONFIG: must be a JSON object/,
    );
    await expect(loadTask(join(dir, 'plain'), { env: {}, overrides: { depth: 1 } })).rejects.toThrow(
      /task config depth: unknown \(known: width, name\)/,
    );
  });

  it('says what is wrong with a file that is not a task', async () => {
    const none = write('none/task.ts', 'export const answer = 42;\n');
    await expect(loadTask(none, { env: {} })).rejects.toThrow(/export the task as default/);
    const raw = write('raw/task.mjs', "export default { id: 'x y', data: {} };\n");
    await expect(loadTask(raw, { env: {} })).rejects.toThrow(
      /not a valid task:\n {2}- id: letters, digits[^\n]*\n {2}- model: must be a function[^\n]*\n {2}- data: give train \(a function returning batches\) or stream/,
    );
    const bad = write(
      'bad/task.ts',
      "import { defineTask } from 'tributary';\nexport default defineTask({ id: 'x' } as never);\n",
    );
    await expect(loadTask(bad, { env: {} })).rejects.toMatchObject({ code: 'TRIB_CONFIG_INVALID' });
    const broken = write('broken/task.ts', 'export default (;\n');
    await expect(loadTask(broken, { env: {} })).rejects.toMatchObject({ code: 'TRIB_TASK_LOAD_FAILED' });
    await expect(loadTask(join(dir, 'missing.ts'), { env: {} })).rejects.toThrow(
      /TRIB_TASK_LOAD_FAILED: no task at/,
    );
    mkdirSync(join(dir, 'empty'));
    await expect(loadTask(join(dir, 'empty'), { env: {} })).rejects.toThrow(
      /a directory without a task file/,
    );
  });
});
