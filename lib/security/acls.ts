/**
 * Who may do what, per job: the SCRAM principals `tributary provision` creates and the Kafka ACLs
 * each gets — exactly what its process needs and no more. Pure (the Kafka calls are in
 * ./provision.ts) so the table can be tested exhaustively and printed in the docs.
 *
 * A silo's workers read the job's tasks, models and evaluation requests and the silo's own data
 * topics; they write updates, check-ins and evaluation reports; their consumer groups and
 * transactional ids are prefixed by the silo (their worker ids must start with `<silo>.`). They can
 * read no update, write no model, checkpoint or event, and read no other silo's data.
 * The coordinator owns every `tributary.<job>.` topic, group and transactional id.
 */
import { WORKER_TOPIC_ACCESS, topicName } from '../kafka/topics.js';

export type AclResource = 'topic' | 'group' | 'transactional-id';
export type AclOperation = 'ALL' | 'READ' | 'WRITE' | 'DESCRIBE' | 'CREATE';

export interface AclRule {
  readonly principal: string;
  readonly resource: AclResource;
  readonly pattern: 'literal' | 'prefixed';
  readonly name: string;
  readonly operation: AclOperation;
}

/** Job and silo names: letters, digits, `-` and `_` (no dots, so every prefix below is unambiguous). */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const RESERVED_SILOS = new Set(['coordinator', 'admin']);

export function checkName(kind: 'job' | 'silo', name: string): string | null {
  if (!NAME_PATTERN.test(name))
    return `${kind} "${name}": letters, digits, - and _ only (at most 63, starting with a letter or digit)`;
  if (kind === 'silo' && RESERVED_SILOS.has(name)) return `silo "${name}": the name is reserved`;
  return null;
}

export const siloPrincipal = (jobId: string, silo: string) => `tributary.${jobId}.silo.${silo}`;
export const coordinatorPrincipal = (jobId: string) => `tributary.${jobId}.coordinator`;
/** Worker ids of a provisioned silo start with this (TRIBUTARY_WORKER_ID_PREFIX in its bundle). */
export const siloWorkerPrefix = (silo: string) => `${silo}.`;
/** By default a silo's data topics are those named `<silo>.…` (e.g. plant-0.telemetry). */
export const defaultDataPrefix = (silo: string) => `${silo}.`;

const user = (name: string) => `User:${name}`;

export function siloRules(jobId: string, silo: string, dataPrefix = defaultDataPrefix(silo)): AclRule[] {
  const principal = user(siloPrincipal(jobId, silo));
  const rule = (
    resource: AclResource,
    pattern: AclRule['pattern'],
    name: string,
    operation: AclOperation,
  ): AclRule => ({ principal, resource, pattern, name, operation });
  const workers = siloWorkerPrefix(silo);
  return [
    ...WORKER_TOPIC_ACCESS.read.flatMap((kind) => [
      rule('topic', 'literal', topicName(jobId, kind), 'READ'),
      rule('topic', 'literal', topicName(jobId, kind), 'DESCRIBE'),
    ]),
    ...WORKER_TOPIC_ACCESS.write.flatMap((kind) => [
      rule('topic', 'literal', topicName(jobId, kind), 'WRITE'),
      rule('topic', 'literal', topicName(jobId, kind), 'DESCRIBE'),
    ]),
    rule('topic', 'prefixed', dataPrefix, 'READ'),
    rule('topic', 'prefixed', dataPrefix, 'DESCRIBE'),
    // Groups: tasks and models and evaluation requests (tributary.<job>.worker.<id>…), and the
    // stream window's committed position (tributary.<job>.data.<id>).
    rule('group', 'prefixed', `tributary.${jobId}.worker.${workers}`, 'READ'),
    rule('group', 'prefixed', `tributary.${jobId}.data.${workers}`, 'READ'),
    rule('transactional-id', 'prefixed', `tributary.${jobId}.worker.${workers}`, 'WRITE'),
    rule('transactional-id', 'prefixed', `tributary.${jobId}.worker.${workers}`, 'DESCRIBE'),
  ];
}

export function coordinatorRules(jobId: string): AclRule[] {
  const principal = user(coordinatorPrincipal(jobId));
  return [
    { principal, resource: 'topic', pattern: 'prefixed', name: `tributary.${jobId}.`, operation: 'ALL' },
    {
      principal,
      resource: 'group',
      pattern: 'prefixed',
      name: `tributary.${jobId}.coordinator`,
      operation: 'ALL',
    },
    {
      principal,
      resource: 'transactional-id',
      pattern: 'prefixed',
      name: `tributary.${jobId}.coordinator`,
      operation: 'ALL',
    },
  ];
}

/** The rules as a Markdown table (docs and the provisioning summary). */
export function aclTable(rules: readonly AclRule[]): string {
  const rows = rules.map(
    (r) =>
      `| ${r.principal} | ${r.resource} | ${r.pattern === 'prefixed' ? `${r.name}*` : r.name} | ${r.operation} |`,
  );
  return ['| principal | resource | name | operation |', '|---|---|---|---|', ...rows].join('\n');
}
