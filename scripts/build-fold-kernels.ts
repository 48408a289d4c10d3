/**
 * Compiles lib/core/fedbuff/fold-kernels.wat into fold-kernels.wasm.ts (the module's bytes, base64),
 * so the coordinator needs no WebAssembly toolchain at run time. `npm run build:kernels` after
 * editing the .wat; a unit test fails when the two disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const DIR = fileURLToPath(new URL('../lib/core/fedbuff/', import.meta.url));
export const WAT_PATH = `${DIR}fold-kernels.wat`;
export const MODULE_PATH = `${DIR}fold-kernels.wasm.ts`;

export async function compileFoldKernels(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const module = wabt.parseWat('fold-kernels.wat', readFileSync(WAT_PATH, 'utf8'), { simd: true });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

export function moduleSource(bytes: Uint8Array): string {
  return [
    '// Generated from fold-kernels.wat by scripts/build-fold-kernels.ts (npm run build:kernels). Do not edit.',
    `export const FOLD_KERNELS_WASM_BASE64 =\n  '${Buffer.from(bytes).toString('base64')}';`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await compileFoldKernels();
  writeFileSync(MODULE_PATH, moduleSource(bytes));
  console.log(JSON.stringify({ event: 'fold-kernels-built', bytes: bytes.length, path: MODULE_PATH }));
}
