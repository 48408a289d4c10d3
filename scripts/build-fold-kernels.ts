/**
 * Compiles the WebAssembly kernels (.wat) into .wasm.ts modules (the module's bytes, base64), so no
 * process needs a WebAssembly toolchain at run time: the fold's (lib/core/fedbuff/fold-kernels.wat)
 * and the tensor encodings' (lib/core/codec-kernels.wat). `npm run build:kernels` after editing a
 * .wat; a unit test fails when a committed module and its .wat disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

export interface Kernel {
  readonly watPath: string;
  readonly modulePath: string;
  /** The exported constant holding the module's bytes. */
  readonly constant: string;
}

const at = (path: string) => fileURLToPath(new URL(`../lib/core/${path}`, import.meta.url));
export const FOLD_KERNELS: Kernel = {
  watPath: at('fedbuff/fold-kernels.wat'),
  modulePath: at('fedbuff/fold-kernels.wasm.ts'),
  constant: 'FOLD_KERNELS_WASM_BASE64',
};
export const CODEC_KERNELS: Kernel = {
  watPath: at('codec-kernels.wat'),
  modulePath: at('codec-kernels.wasm.ts'),
  constant: 'CODEC_KERNELS_WASM_BASE64',
};
export const KERNELS = [FOLD_KERNELS, CODEC_KERNELS] as const;

export async function compileKernel(kernel: Kernel): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat(basename(kernel.watPath), readFileSync(kernel.watPath, 'utf8'), {
    simd: true,
  });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

export function moduleSource(kernel: Kernel, bytes: Uint8Array): string {
  return [
    `// Generated from ${basename(kernel.watPath)} by scripts/build-fold-kernels.ts (npm run build:kernels). Do not edit.`,
    `export const ${kernel.constant} =\n  '${Buffer.from(bytes).toString('base64')}';`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const kernel of KERNELS) {
    const bytes = await compileKernel(kernel);
    writeFileSync(kernel.modulePath, moduleSource(kernel, bytes));
    console.log(JSON.stringify({ event: 'kernels-built', bytes: bytes.length, path: kernel.modulePath }));
  }
}
