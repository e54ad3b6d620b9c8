/**
 * Soft stops for a piece of work on a long-lived client (`nfs4 shell`'s
 * verbs): see lib/state/operation_scope.ts.
 * @module
 */
export { withOperationSignal } from "../state/operation_scope.ts";
