import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.js';
import { AvroSerde } from '../../lib/wire/serde.js';
import { JobEvents } from './events.js';

/** Records what the events stream sends; `fail` decides per send whether it throws (sync or async). */
function recordingProducer(fail: () => 'sync' | 'async' | null = () => null) {
  const sent: string[][] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const producer = {
    send: (request: { messages: { value: Buffer }[] }) => {
      const mode = fail();
      if (mode === 'sync') throw new Error('refused at once');
      return (async () => {
        if (hold) await new Promise<void>((resolve) => (release = resolve));
        if (mode === 'async') throw new Error('refused later');
        sent.push(request.messages.map((m) => m.value.toString('latin1')));
        return [];
      })();
    },
  };
  return {
    producer: producer as unknown as Producer,
    sent,
    hold: () => (hold = true),
    release: () => ((hold = false), release?.()),
  };
}

const serde = AvroSerde.forUrl('http://127.0.0.1:1'); // encode only: never asks the registry
const quiet = createLogger({}, { write: () => undefined });
const typesOf = (batches: string[][]) =>
  batches
    .flat()
    .map((v) =>
      v.includes('job-started') ? 'job-started' : v.includes('lease-expired') ? 'lease-expired' : '?',
    );

/** A job's events on `p`, lingering `lingerMs` (the default when omitted). */
const eventsOn = (p: ReturnType<typeof recordingProducer>, lingerMs?: number) =>
  new JobEvents(
    'j',
    () => p.producer,
    serde,
    () => 1,
    quiet,
    lingerMs,
  );

describe('JobEvents', () => {
  it('sends in order, batching what queued while a send was out, and flush waits for all of it', async () => {
    const p = recordingProducer();
    const events = eventsOn(p, 0);
    p.hold();
    await events.emit({ type: 'job-started' }, 0);
    for (let i = 0; i < 5; i++) await events.emit({ type: 'lease-expired' }, 0);
    p.release();
    await events.flush();
    expect(p.sent.map((b) => b.length)).toEqual([1, 5]);
    expect(typesOf(p.sent)).toEqual(['job-started', ...Array<string>(5).fill('lease-expired')]);
  });

  it('lets flush end when sends fail, at once or later, and sends what comes after', async () => {
    let mode: 'sync' | 'async' | null = 'sync';
    const p = recordingProducer(() => mode);
    const events = eventsOn(p);
    await events.emit({ type: 'job-started' }, 0);
    await events.flush(); // a drain that ended at once must not leave flush spinning
    mode = 'async';
    await events.emit({ type: 'job-started' }, 0);
    await events.flush();
    mode = null;
    await events.emit({ type: 'lease-expired' }, 0);
    await events.flush();
    expect(typesOf(p.sent)).toEqual(['lease-expired']);
  });

  it('makes emit wait once MAX_QUEUED events are waiting, so the queue stays bounded', async () => {
    const p = recordingProducer();
    const events = eventsOn(p, 0);
    p.hold();
    await events.emit({ type: 'job-started' }, 0); // out, held
    for (let i = 0; i < JobEvents.MAX_QUEUED - 1; i++) await events.emit({ type: 'lease-expired' }, 0);
    let returned = false;
    const last = events.emit({ type: 'lease-expired' }, 0).then(() => (returned = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(returned).toBe(false);
    p.release();
    await last;
    await events.flush();
    expect(p.sent.flat()).toHaveLength(JobEvents.MAX_QUEUED + 1);
  });

  it('holds the first event for company: what comes within the linger goes in one send; flush does not wait', async () => {
    const p = recordingProducer();
    const events = eventsOn(p, 30);
    await events.emit({ type: 'job-started' }, 0);
    await events.emit({ type: 'lease-expired' }, 0);
    expect(p.sent).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(p.sent.map((b) => b.length)).toEqual([2]);
    await events.emit({ type: 'lease-expired' }, 0);
    await events.emit({ type: 'lease-expired' }, 0);
    await events.flush();
    expect(p.sent.map((b) => b.length)).toEqual([2, 2]);
    expect(typesOf(p.sent)).toEqual(['job-started', 'lease-expired', 'lease-expired', 'lease-expired']);
  });

  it('sends a full batch without lingering', async () => {
    const p = recordingProducer();
    const events = eventsOn(p, 60_000);
    for (let i = 0; i < JobEvents.MAX_BATCH; i++) await events.emit({ type: 'lease-expired' }, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(p.sent.map((b) => b.length)).toEqual([JobEvents.MAX_BATCH]);
  });
});
