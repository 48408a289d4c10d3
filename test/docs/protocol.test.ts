/**
 * docs/protocol.md and docs/topics.md against the code: the event types the coordinator can emit
 * and the codes a rejected update can carry are listed exactly, so the docs cannot drift again.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, UPDATE_REJECTION_CODES } from '../../lib/core/errors.js';
import { TOPIC_KINDS } from '../../lib/kafka/topics.js';
import { EVENT_TYPES } from '../../services/coordinator/events.js';

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

/** The backticked names between `<!-- marker -->` and `<!-- /marker -->`, in order. */
function listed(text: string, marker: string, pattern: RegExp): string[] {
  const start = text.indexOf(`<!-- ${marker} -->`);
  const end = text.indexOf(`<!-- /${marker} -->`);
  expect(start, `marker ${marker}`).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return [...text.slice(start, end).matchAll(pattern)].map((m) => m[1] as string);
}

describe('docs/protocol.md', () => {
  const protocol = doc('protocol.md');

  it('lists exactly the event types the coordinator emits', () => {
    expect(listed(protocol, 'event-types', /`([a-z-]+)`/g)).toEqual([...EVENT_TYPES]);
  });

  it('lists exactly the codes a rejected update can carry, each a known error code', () => {
    const codes = listed(protocol, 'rejection-codes', /^\| `(TRIB_[A-Z_]+)`/gm);
    expect([...codes].sort()).toEqual([...UPDATE_REJECTION_CODES].sort());
    for (const code of codes) expect(Object.keys(ERROR_CODES)).toContain(code);
  });

  it('names every topic a worker touches, and the chunk key and update id conventions', () => {
    for (const kind of ['tasks', 'models', 'checkins', 'updates', 'evaluation-tasks', 'evaluations'])
      expect(TOPIC_KINDS).toContain(kind);
    for (const kind of TOPIC_KINDS) expect(protocol).toContain(`tributary.J.${kind}`);
    expect(protocol).toContain('`J#i`');
    expect(protocol).toContain('`<workerId>-<taskId>`');
  });
});

describe('docs/topics.md', () => {
  it('describes every event type', () => {
    const events = doc('topics.md').slice(doc('topics.md').indexOf('## Events'));
    for (const type of EVENT_TYPES) expect(events).toContain(`\`${type}\``);
  });

  it('lists every topic', () => {
    for (const kind of TOPIC_KINDS) expect(doc('topics.md')).toContain(`tributary.<job>.${kind}`);
  });
});

describe('docs/errors.md', () => {
  it('explains every error code', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(doc('errors.md')).toContain(`\`${code}\``);
  });
});
