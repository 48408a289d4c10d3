/**
 * Whose update is this? After the signature verified (lib/security/signing.ts), the update must
 * answer a task leased to the worker it names, and that worker must belong to the silo that
 * signed. Pure: reads the lease book, changes nothing, so a record that fails here has claimed no
 * lease, no task and no update id.
 */
import { UpdateRejectedError } from '../../lib/core/errors.js';
import type { ModelUpdate } from '../../lib/wire/schemas.js';
import type { LeaseBook } from './leases.js';

/**
 * Throws TRIB_UPDATE_MISATTRIBUTED when the live lease of the update's task belongs to another
 * worker, or when a signed update's silo is not the silo its worker checked in from. An update
 * whose lease has expired (a late one) is judged by its worker's silo alone; a worker this
 * coordinator has never seen (it restarted since) by its signature alone.
 */
export function checkAttribution(
  update: Pick<ModelUpdate, 'taskId' | 'workerId'>,
  signer: string | null,
  leases: Pick<LeaseBook, 'leases' | 'workers'>,
): void {
  const lease = leases.leases.get(update.taskId);
  if (lease && lease.workerId !== update.workerId)
    throw new UpdateRejectedError(
      'TRIB_UPDATE_MISATTRIBUTED',
      `task ${update.taskId.slice(0, 64)} was leased to another worker, not ${update.workerId.slice(0, 64)}`,
    );
  if (signer === null) return;
  const worker = leases.workers.get(update.workerId);
  if (worker && worker.silo !== signer)
    throw new UpdateRejectedError(
      'TRIB_UPDATE_MISATTRIBUTED',
      `worker ${update.workerId.slice(0, 64)} checked in from silo "${worker.silo.slice(0, 64)}", but the update is signed by silo "${signer.slice(0, 64)}"`,
    );
}
