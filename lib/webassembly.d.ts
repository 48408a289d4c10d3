/**
 * The part of the WebAssembly JavaScript API that Tributary uses (the fold kernels). @types/node 20
 * does not declare it, and lib.dom would bring the whole browser with it.
 */
declare namespace WebAssembly {
  type Bytes = ArrayBuffer | ArrayBufferView;
  class Module {
    constructor(bytes: Bytes);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
  function validate(bytes: Bytes): boolean;
}
