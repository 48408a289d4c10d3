/**
 * A fix for kafkajs 2.2.4's request queue, which keeps every connection's event loop awake.
 *
 * After a connection's first response, `checkPendingRequests` ends by calling
 * `scheduleCheckPendingRequests`, which arms a timer for `throttledUntil - now`: negative when
 * nothing is throttled, so Node runs it after 1 ms, and it calls `checkPendingRequests` again. The
 * loop never ends while the connection is open (tulios/kafkajs#1556, #1704; unfixed in the last
 * release). A Tributary worker holds several connections, so it woke about 1,400 times a second
 * doing nothing (strace, mid-training), and ten workers on two cores paid for it.
 *
 * The timer does something only when requests are waiting (for a throttle to end, or for an
 * in-flight slot, which a response also frees). Here it is armed only then, as before: at the end of
 * the throttle, or after 10 ms, kafkajs's own interval. With nothing waiting it is not armed, and
 * the next request that has to wait arms it (`push` calls the same method).
 */
import { createRequire } from 'node:module';

/** kafkajs's RequestQueue, as much of it as the fix reads and writes. */
interface RequestQueueState {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
}

interface RequestQueueClass {
  prototype: { scheduleCheckPendingRequests: (this: RequestQueueState) => void };
}

/** kafkajs's interval for re-checking waiting requests when no throttle end is known. */
export const CHECK_WAITING_REQUESTS_MS = 10;

const FIXED = Symbol.for('tributary.kafkajs.requestQueueFixed');

function scheduleCheckWhileWaiting(this: RequestQueueState): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilUnthrottled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    untilUnthrottled > 0 ? untilUnthrottled : CHECK_WAITING_REQUESTS_MS,
  );
}

/** kafkajs's RequestQueue class (an internal module: kafkajs has no exports map to forbid it). */
export function kafkajsRequestQueue(): RequestQueueClass {
  const require = createRequire(import.meta.url);
  return require('kafkajs/src/network/requestQueue/index.js') as RequestQueueClass;
}

/**
 * Applies the fix to every kafkajs connection in this process, once; true if it is in place. False
 * if this kafkajs has no such method (a release that changed the queue: nothing to fix there).
 */
export function fixKafkajsRequestQueue(): boolean {
  const proto = kafkajsRequestQueue().prototype as RequestQueueClass['prototype'] & { [FIXED]?: true };
  if (proto[FIXED]) return true;
  if (typeof proto.scheduleCheckPendingRequests !== 'function') return false;
  proto.scheduleCheckPendingRequests = scheduleCheckWhileWaiting;
  proto[FIXED] = true;
  return true;
}
