import { describe, expect, it } from 'vitest';
import { TOPIC_KINDS, topicName } from '../kafka/topics.js';
import { aclTable, checkName, coordinatorRules, siloRules, type AclRule } from './acls.js';

/** Whether `rules` let `principal` do `operation` on a resource called `name` (ALL covers everything). */
function allows(
  rules: AclRule[],
  resource: AclRule['resource'],
  name: string,
  operation: AclRule['operation'],
) {
  return rules.some(
    (r) =>
      r.resource === resource &&
      (r.operation === operation || r.operation === 'ALL') &&
      (r.pattern === 'literal' ? r.name === name : name.startsWith(r.name)),
  );
}

describe('a silo gets exactly what its workers need', () => {
  const a = siloRules('job1', 'a');
  const t = (kind: (typeof TOPIC_KINDS)[number]) => topicName('job1', kind);

  it('reads tasks, models and evaluation requests; writes updates, check-ins and reports', () => {
    for (const kind of ['tasks', 'models', 'evaluation-tasks'] as const)
      expect(allows(a, 'topic', t(kind), 'READ')).toBe(true);
    for (const kind of ['updates', 'checkins', 'evaluations'] as const)
      expect(allows(a, 'topic', t(kind), 'WRITE')).toBe(true);
  });

  it('reads no update, report or event; writes no task, model, checkpoint, event or rejection', () => {
    for (const kind of ['updates', 'checkins', 'evaluations', 'events', 'rejected', 'checkpoints'] as const)
      expect(allows(a, 'topic', t(kind), 'READ'), kind).toBe(false);
    for (const kind of ['tasks', 'models', 'events', 'rejected', 'checkpoints', 'evaluation-tasks'] as const)
      expect(allows(a, 'topic', t(kind), 'WRITE'), kind).toBe(false);
    expect(a.some((r) => r.operation === 'ALL' || r.operation === 'CREATE')).toBe(false);
  });

  it("reads its own data topics and no other silo's, nor another job's", () => {
    expect(allows(a, 'topic', 'a.telemetry', 'READ')).toBe(true);
    expect(allows(a, 'topic', 'b.telemetry', 'READ')).toBe(false);
    expect(allows(a, 'topic', 'ab.telemetry', 'READ')).toBe(false);
    expect(allows(a, 'topic', topicName('job2', 'tasks'), 'READ')).toBe(false);
    expect(allows(siloRules('job1', 'plant-0', 'plant-0.'), 'topic', 'plant-0.telemetry.run7', 'READ')).toBe(
      true,
    );
  });

  it("groups and transactional ids: its own workers' only", () => {
    expect(allows(a, 'group', 'tributary.job1.worker.a.w1', 'READ')).toBe(true);
    expect(allows(a, 'group', 'tributary.job1.worker.a.w1.models.123', 'READ')).toBe(true);
    expect(allows(a, 'group', 'tributary.job1.data.a.w1', 'READ')).toBe(true);
    expect(allows(a, 'group', 'tributary.job1.worker.b.w1', 'READ')).toBe(false);
    expect(allows(a, 'group', 'tributary.job1.worker.ab.w1', 'READ')).toBe(false);
    expect(allows(a, 'group', 'tributary.job1.coordinator', 'READ')).toBe(false);
    expect(allows(a, 'transactional-id', 'tributary.job1.worker.a.w1', 'WRITE')).toBe(true);
    expect(allows(a, 'transactional-id', 'tributary.job1.worker.b.w1', 'WRITE')).toBe(false);
    expect(allows(a, 'transactional-id', 'tributary.job1.coordinator', 'WRITE')).toBe(false);
  });

  it('every rule is for the silo principal and allows, never denies by name', () => {
    expect(new Set(a.map((r) => r.principal))).toEqual(new Set(['User:tributary.job1.silo.a']));
  });
});

describe('the coordinator owns its job and nothing else', () => {
  const c = coordinatorRules('job1');
  it('every topic of the job, its groups and transactional ids', () => {
    for (const kind of TOPIC_KINDS) {
      expect(allows(c, 'topic', topicName('job1', kind), 'READ')).toBe(true);
      expect(allows(c, 'topic', topicName('job1', kind), 'WRITE')).toBe(true);
      expect(allows(c, 'topic', topicName('job1', kind), 'CREATE')).toBe(true);
    }
    expect(allows(c, 'group', 'tributary.job1.coordinator.checkins.x', 'READ')).toBe(true);
    expect(allows(c, 'transactional-id', 'tributary.job1.coordinator', 'WRITE')).toBe(true);
  });
  it("no other job's topics, no silo's data, no worker's transactions", () => {
    expect(allows(c, 'topic', topicName('job10', 'tasks'), 'READ')).toBe(false);
    expect(allows(c, 'topic', 'a.telemetry', 'READ')).toBe(false);
    expect(allows(c, 'transactional-id', 'tributary.job1.worker.a.w1', 'WRITE')).toBe(false);
  });
});

describe('names', () => {
  it('accepts plain names and refuses dots, spaces, reserved and overlong ones', () => {
    expect(checkName('silo', 'plant-0')).toBeNull();
    expect(checkName('job', 'it-abc_1')).toBeNull();
    expect(checkName('silo', 'a.b')).toMatch(/letters, digits/);
    expect(checkName('silo', 'a b')).toMatch(/letters, digits/);
    expect(checkName('silo', '-a')).toMatch(/letters, digits/);
    expect(checkName('silo', 'x'.repeat(64))).toMatch(/at most 63/);
    expect(checkName('silo', 'coordinator')).toMatch(/reserved/);
  });
  it('prints a table with prefixes marked', () => {
    expect(aclTable(coordinatorRules('j'))).toContain(
      '| User:tributary.j.coordinator | topic | tributary.j.* | ALL |',
    );
  });
});
