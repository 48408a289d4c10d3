/**
 * The request-queue fix (./kafkajs-request-queue.ts) on kafkajs's own RequestQueue: an idle queue
 * arms no timer, and requests that wait (for a throttle to end, for an in-flight slot) are still
 * sent when they can be.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  CHECK_WAITING_REQUESTS_MS,
  fixKafkajsRequestQueue,
  kafkajsRequestQueue,
} from './kafkajs-request-queue.js';

interface Queue {
  checkPendingRequests(): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer | null; size: number }): void;
  push(request: { entry: Record<string, unknown>; expectResponse: boolean; sendRequest: () => void }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
  pending: unknown[];
  throttleCheckTimeoutId: unknown;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const queues: Queue[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function newQueue(maxInFlightRequests: number | null = null): { queue: Queue; checks: () => number } {
  const RequestQueue = kafkajsRequestQueue() as unknown as new (options: object) => Queue;
  const queue = new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'localhost:9092',
    logger: silent,
  });
  let checks = 0;
  const check = queue.checkPendingRequests.bind(queue);
  queue.checkPendingRequests = () => {
    checks += 1;
    check();
  };
  queues.push(queue);
  return { queue, checks: () => checks };
}

/** A request that records when it was sent, resolving nothing (its response never matters here). */
function request(correlationId: number, sent: number[]) {
  return {
    entry: { correlationId, apiKey: 1, apiName: 'Fetch', apiVersion: 11, resolve() {}, reject() {} },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  };
}

afterEach(() => {
  for (const queue of queues.splice(0)) queue.destroy();
});

describe('kafkajs request queue fix', () => {
  it('is applied once, and applying it again keeps it', () => {
    expect(fixKafkajsRequestQueue()).toBe(true);
    const method = (kafkajsRequestQueue().prototype as { scheduleCheckPendingRequests: unknown })
      .scheduleCheckPendingRequests;
    expect(fixKafkajsRequestQueue()).toBe(true);
    expect(
      (kafkajsRequestQueue().prototype as { scheduleCheckPendingRequests: unknown })
        .scheduleCheckPendingRequests,
    ).toBe(method);
  });

  it('arms no timer on a queue with nothing waiting (unfixed: a check every millisecond)', async () => {
    fixKafkajsRequestQueue();
    const { queue, checks } = newQueue();
    // What every response does: kafkajs's fulfillRequest checks the queue.
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).toBeNull();
    await sleep(60);
    expect(checks()).toBe(1);
  });

  it('sends a request that waited for a throttle when the throttle ends, and not before', async () => {
    fixKafkajsRequestQueue();
    const { queue } = newQueue();
    const sent: number[] = [];
    queue.maybeThrottle(40);
    const pushedAt = Date.now();
    queue.push(request(1, sent));
    expect(sent).toEqual([]);
    expect(queue.pending).toHaveLength(1);
    while (sent.length === 0 && Date.now() - pushedAt < 1000) await sleep(2);
    expect(sent).toEqual([1]);
    expect(Date.now() - pushedAt).toBeGreaterThanOrEqual(39);
    expect(queue.pending).toHaveLength(0);
  });

  it('sends a request that waited for an in-flight slot once a response frees one', async () => {
    fixKafkajsRequestQueue();
    const { queue, checks } = newQueue(1);
    const sent: number[] = [];
    queue.push(request(1, sent));
    queue.push(request(2, sent));
    expect(sent).toEqual([1]);
    // While it waits, the queue is re-checked at kafkajs's interval, as before the fix.
    await sleep(CHECK_WAITING_REQUESTS_MS * 5);
    expect(checks()).toBeGreaterThanOrEqual(2);
    expect(sent).toEqual([1]);
    queue.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    expect(sent).toEqual([1, 2]);
    // Nothing waits any more: the re-checks stop.
    const after = checks();
    await sleep(CHECK_WAITING_REQUESTS_MS * 5);
    expect(checks()).toBeLessThanOrEqual(after + 1);
  });
});
