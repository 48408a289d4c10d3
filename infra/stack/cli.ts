/**
 * `npm run stack`: brings the stack up in the foreground, prints its addresses, and stops it on
 * Ctrl-C. `npm run stack -- fetch` only fills the artifact cache (used by CI and the image build).
 */
import { ensureArtifacts } from './artifacts.js';
import { startStack } from './index.js';

const log = (event: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), component: 'stack', event, ...fields }));

async function main(): Promise<void> {
  if (process.argv[2] === 'fetch') {
    const artifacts = await ensureArtifacts({ onProgress: (message) => log('progress', { message }) });
    log('artifacts-ready', { ...artifacts });
    return;
  }
  const stack = await startStack({ onProgress: (message) => log('progress', { message }) });
  log('ready', {
    mode: stack.mode,
    brokers: stack.brokers.join(','),
    registryUrl: stack.registryUrl,
    startupMs: stack.startupMs,
  });
  console.log(
    `\n  KAFKA_BROKERS=${stack.brokers.join(',')}\n  SCHEMA_REGISTRY_URL=${stack.registryUrl}\n\n  Ctrl-C stops the stack.\n`,
  );
  // A terminal's Ctrl-C reaches every process in the group (npm, tsx, us), so a signal can arrive
  // twice: keep the handler and ignore repeats, or the second one kills us mid-shutdown.
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    void stack.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  setInterval(() => {}, 1 << 30); // stay in the foreground
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
