/** Helpers for integration tests: unique names per test, and waiting on conditions, never on sleeps. */
import { randomBytes } from 'node:crypto';

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export { waitFor } from '../../lib/testing/process.js';
