/** Test helper: the stable code a call throws with, so tests assert on codes, not messages. */
import { isTributaryError } from '../../lib/core/errors.js';

/** `fn`'s error code, 'ok' when it returns, or the text of anything else it throws. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return isTributaryError(error) ? error.code : `not a TributaryError: ${String(error)}`;
  }
}
