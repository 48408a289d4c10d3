// A worker thread's entry: Node cannot start a thread on a .ts file, so this loads publisher.ts
// through tsx.
import { tsImport } from 'tsx/esm/api';

await tsImport('./publisher.ts', import.meta.url);
