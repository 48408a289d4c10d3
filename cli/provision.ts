/**
 * `tributary provision --job J --silos a,b,c`: principals, ACLs, signing keys and one credentials
 * bundle per silo and for the coordinator (lib/security/provision.ts). Connects as an
 * administrator: --credentials (e.g. the secured stack's admin bundle) or the KAFKA_SASL_* variables.
 */
import { resolve } from 'node:path';
import { createKafka, explainKafkaError } from '../lib/kafka/client.js';
import { aclTable } from '../lib/security/acls.js';
import { provision, provisionProblems } from '../lib/security/provision.js';
import type { CommandSpec, Parsed } from './args.js';
import { CLUSTER_FLAGS, clusterConnection, say } from './common.js';

export const provisionCommand: CommandSpec = {
  name: 'provision',
  summary: "create a job's principals, ACLs, signing keys and per-silo credentials bundles",
  usage: 'tributary provision --job J --silos a,b,c [--revoke b] [--out DIR] [--credentials ADMIN_DIR]',
  positionals: [],
  flags: {
    job: { type: 'string', help: 'the job (its topics are tributary.<job>.*)' },
    silos: { type: 'string', placeholder: 'a,b,…', help: 'silos to provision (again: idempotent)' },
    revoke: { type: 'string', placeholder: 'a,b,…', help: 'silos to remove: ACLs, credential, key, bundle' },
    out: { type: 'string', placeholder: 'dir', help: 'where bundles go (default ./credentials/<job>)' },
    'data-topics': {
      type: 'list',
      placeholder: 'silo=prefix',
      help: "the prefix of a silo's data topics it may read (default <silo>.; repeatable)",
    },
    ...CLUSTER_FLAGS,
  },
  details: 'Bundles hold passwords and private keys (files mode 600): hand each silo its own directory only.',
};

const list = (value: unknown) =>
  value === undefined
    ? []
    : String(value)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

export async function provisionCli(parsed: Parsed): Promise<number> {
  const jobId = parsed.flags.job === undefined ? '' : String(parsed.flags.job);
  const silos = list(parsed.flags.silos);
  const revoke = list(parsed.flags.revoke);
  const connection = clusterConnection(parsed);
  const problems = [
    ...(jobId ? provisionProblems({ jobId, silos, revoke }) : ['--job: required']),
    ...('problems' in connection ? connection.problems : []),
  ];
  const dataPrefixes: Record<string, string> = {};
  for (const entry of (parsed.flags['data-topics'] as string[] | undefined) ?? []) {
    const [silo, prefix] = entry.split('=', 2);
    if (!silo || !prefix) problems.push(`--data-topics: expected silo=prefix, got "${entry}"`);
    else dataPrefixes[silo] = prefix;
  }
  if (problems.length > 0 || 'problems' in connection) {
    for (const p of problems) console.error(p);
    return 2;
  }
  const outDir = resolve(parsed.flags.out === undefined ? `credentials/${jobId}` : String(parsed.flags.out));
  const kafka = createKafka({
    brokers: connection.brokers,
    clientId: 'tributary-provision',
    security: connection.security.kafka,
  });
  try {
    const summary = await provision(kafka, {
      jobId,
      silos,
      revoke,
      outDir,
      brokers: connection.brokers,
      registryUrl: connection.registryUrl,
      admin: connection.security,
      dataPrefixes,
    });
    for (const p of summary.principals) say('principal', { ...p });
    for (const silo of summary.revoked) say('revoked', { silo });
    console.log(`\n${aclTable(summary.rules)}\n`);
    console.log(
      `Bundles in ${outDir}: start a worker with  tributary worker <task> --credentials ${outDir}/<silo> --worker-id <silo>.<name>`,
    );
    return 0;
  } catch (error) {
    const explained = explainKafkaError(error, connection.brokers);
    console.error(explained instanceof Error ? explained.message : String(explained));
    return 1;
  }
}
