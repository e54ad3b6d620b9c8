/**
 * Soft stops for a piece of work on a long-lived client (`nfs4 shell`'s
 * verbs): see lib/state/operation_scope.ts.
 * @module
 */
export { withAddedOperationSignal, withOperationSignal } from "../state/operation_scope.ts";
import { outsideOperationScope } from "../state/operation_scope.ts";

/**
 * Runs cleanup `work` (removing a temporary, closing a file) so that the
 * scope that stopped the work does not stop it too.
 */
export function cleanupWork<T>(work: () => T): T {
  return outsideOperationScope(work);
}
