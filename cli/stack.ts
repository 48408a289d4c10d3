/** `tributary stack`: a Kafka broker and schema registry in the foreground until Ctrl-C. */
import { ensureArtifacts } from '../infra/stack/artifacts.js';
import { startStack } from '../infra/stack/index.js';
import type { CommandSpec, Parsed } from './args.js';
import { say } from './common.js';

export const stackCommand: CommandSpec = {
  name: 'stack',
  summary: 'start Kafka and a schema registry here, print their addresses, stop on Ctrl-C',
  usage: 'tributary stack [--mode auto|containers|local] [--brokers 1|3] [--secure] [--fetch-only]',
  positionals: [],
  flags: {
    mode: {
      type: 'string',
      choices: ['auto', 'containers', 'local'],
      help: 'auto (the default): containers when a Docker engine answers, else local JVMs (TRIBUTARY_STACK)',
    },
    brokers: {
      type: 'int',
      min: 1,
      help: 'Kafka nodes: 1, or 3 (replication 3, min.insync.replicas 2; TRIBUTARY_BROKERS)',
    },
    secure: {
      type: 'boolean',
      help: 'SASL_SSL (SCRAM-SHA-512), a generated CA, deny-by-default ACLs and a super-user (TRIBUTARY_SECURITY=on)',
    },
    'fetch-only': { type: 'boolean', help: 'only download the Kafka and registry artifacts into the cache' },
  },
};

export async function stack(parsed: Parsed): Promise<number | void> {
  if (parsed.flags['fetch-only']) {
    const artifacts = await ensureArtifacts({ onProgress: (message) => say('progress', { message }) });
    say('artifacts-ready', { ...artifacts });
    return 0;
  }
  const mode = parsed.flags.mode as 'auto' | 'containers' | 'local' | undefined;
  const running = await startStack({
    onProgress: (message) => say('progress', { message }),
    ...(mode ? { mode } : {}),
    ...(parsed.flags.secure ? { secure: true } : {}),
    ...(parsed.flags.brokers !== undefined ? { brokers: parsed.flags.brokers as number } : {}),
  });
  say('ready', {
    mode: running.mode,
    brokers: running.brokers.join(','),
    registryUrl: running.registryUrl,
    startupMs: running.startupMs,
  });
  // The super-user's password stays in its bundle: only the bundle's path is printed.
  const admin = running.security
    ? `  TRIBUTARY_CREDENTIALS=${running.security.adminCredentialsDir}   (the super-user: provisioning only)\n` +
      `  next: tributary provision --job <job> --silos a,b --credentials ${running.security.adminCredentialsDir}\n`
    : '';
  console.log(
    `\n  KAFKA_BROKERS=${running.brokers.join(',')}\n  SCHEMA_REGISTRY_URL=${running.registryUrl}\n${admin}\n  Ctrl-C stops the stack.\n`,
  );
  // Ctrl-C reaches every process in the group (npm, tsx, us), so a signal can arrive twice.
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    say('stopping');
    void running.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  setInterval(() => {}, 1 << 30); // stay in the foreground
  return new Promise<void>(() => undefined);
}
