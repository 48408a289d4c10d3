/**
 * One stack for the whole integration run (containers when Docker answers, else child JVMs), shared
 * through vitest's provide/inject. Tests that exercise the launcher itself start their own.
 */
import type { TestProject } from 'vitest/node';
import { startStack } from '../../infra/stack/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    brokers: string[];
    registryUrl: string;
    stackMode: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await startStack({
    onProgress: (message) => console.log(JSON.stringify({ component: 'integration-setup', message })),
  });
  console.log(
    JSON.stringify({
      component: 'integration-setup',
      event: 'stack-ready',
      mode: stack.mode,
      startupMs: stack.startupMs,
    }),
  );
  project.provide('brokers', stack.brokers);
  project.provide('registryUrl', stack.registryUrl);
  project.provide('stackMode', stack.mode);
  return () => stack.stop();
}
