/**
 * TensorFlow.js backend selection, in order of speed: native TensorFlow (@tensorflow/tfjs-node, when
 * it is installed and loads), then WebAssembly (no gradients for convolutions, so only for models
 * without them), then the pure-JS cpu backend. The choice is returned so callers log and report it.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import type * as TF from '@tensorflow/tfjs';

export type Tf = typeof TF;
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface LoadedTf {
  readonly tf: Tf;
  readonly backend: BackendName;
  /** Why faster backends were passed over, for the log. */
  readonly skipped: readonly string[];
}

const require = createRequire(import.meta.url);

/**
 * Sizes native TensorFlow's thread pools; effective only before tfjs-node loads (TensorFlow reads
 * them once). `threads` intra-op threads (one op's work split), and one inter-op thread: tfjs runs
 * ops one after another from JS, so a second pool only adds threads contending for the same cores.
 * Several processes on one host each with a pool of every core (TensorFlow's default) spend a
 * small model's training in thread hand-offs (docs/native-tensorflow.md, Threads).
 */
export function setNativeThreads(threads: number, env: NodeJS.ProcessEnv = process.env): void {
  env.TF_NUM_INTRAOP_THREADS = String(threads);
  env.TF_NUM_INTEROP_THREADS = '1';
}

/** Threads for each of `processes` TensorFlow processes sharing this host's cores. */
export const threadsPerProcess = (processes: number, cores = availableParallelism()): number =>
  Math.max(1, Math.floor(cores / Math.max(1, processes)));

/** The packages @tensorflow/tfjs loads, in an order in which each finds its dependencies loaded. */
const TFJS_PARTS = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-converter',
  '@tensorflow/tfjs-data',
] as const;

/**
 * Loads tfjs's JavaScript a package at a time, with a turn of the event loop after each: loading
 * native TensorFlow holds the thread for 0.5–1 s, and a process already at work (a restored
 * coordinator: ../../services/coordinator/deferred-evaluator.ts) answers its sockets between the
 * parts instead of after the whole. What is left in one piece is tfjs-node itself (its kernels and
 * its binding, about 0.33 of 0.48 s). A part that does not resolve is left to the full load.
 */
async function requireTfjsInParts(): Promise<void> {
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  try {
    const fromTfjsNode = createRequire(require.resolve('@tensorflow/tfjs-node'));
    const fromTfjs = createRequire(fromTfjsNode.resolve('@tensorflow/tfjs'));
    for (const part of TFJS_PARTS) {
      fromTfjs(part);
      await turn();
    }
    fromTfjsNode('@tensorflow/tfjs');
    await turn();
  } catch {
    // The full load below reports what is missing.
  }
}

export async function loadTf(options: {
  needsConvGradients: boolean;
  prefer?: BackendName;
  /** Native TensorFlow's threads (setNativeThreads); null or absent: TensorFlow's default, every core. */
  threads?: number | null;
}): Promise<LoadedTf> {
  if (options.threads) setNativeThreads(options.threads);
  const skipped: string[] = [];
  const order: BackendName[] = ['tensorflow', 'wasm', 'cpu'];
  const start = options.prefer ? order.indexOf(options.prefer) : 0;
  for (const backend of order.slice(start)) {
    if (backend === 'tensorflow') {
      try {
        await requireTfjsInParts();
        // require, not import(): tfjs-node and tfjs are CommonJS, and importing them from ESM first
        // scans their large bundles for export names (about 0.2 of 0.55 s of loading, measured here).
        const tf = require('@tensorflow/tfjs-node') as Tf;
        await tf.ready();
        if (tf.getBackend() === 'tensorflow') return { tf, backend, skipped };
        skipped.push('tensorflow: tfjs-node loaded but did not register its backend');
      } catch (error) {
        skipped.push(`tensorflow: ${(error as Error).message.split('\n')[0]}`);
      }
      continue;
    }
    const tf = await import('@tensorflow/tfjs');
    if (backend === 'wasm') {
      if (options.needsConvGradients) {
        skipped.push('wasm: no convolution gradient kernels');
        continue;
      }
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      wasm.setWasmPaths(
        `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`,
      );
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return { tf, backend, skipped };
      }
      skipped.push('wasm: backend failed to initialise');
      continue;
    }
    await tf.setBackend('cpu');
    await tf.ready();
    return { tf, backend: 'cpu', skipped };
  }
  throw new Error(`no TensorFlow.js backend could be loaded: ${skipped.join('; ')}`);
}
