/**
 * Soft stops for a piece of work on a long-lived client (`nfs4 shell`'s
 * verbs): see lib/state/operation_scope.ts. And the cleanup that runs
 * after a stop: {@linkcode cleanupWork}.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
export { withAddedOperationSignal, withOperationSignal } from "../state/operation_scope.ts";
import { outsideOperationScope } from "../state/operation_scope.ts";

/** Set inside {@linkcode cleanupWork}: what runs there is cleanup (see {@linkcode inCleanupWork}). */
const cleanup = new AsyncLocalStorage<true>();

/**
 * Runs cleanup `work` (removing a temporary, closing a file) so that what
 * stopped the work does not stop it too: the soft stop of
 * `withOperationSignal`, and the abort of the client's own
 * `ConnectOptions.signal`, after which the client refuses every other
 * call but lets these out within the state manager's release window
 * (1.5 s from the abort; Nfs4Client `refuseClosed`).
 *
 * @example
 * ```ts
 * import { cleanupWork, Nfs4Client } from "../../mod.ts";
 *
 * const stop = new AbortController();
 * const client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049, signal: stop.signal });
 * const file = await client.open("/vfs/.upload.tmp", { access: "write", create: "guarded" });
 * try {
 *   await file.write(0n, new Uint8Array(1024));
 *   await file.close();
 *   await client.rename("/vfs/.upload.tmp", "/vfs/upload");
 * } catch (e) {
 *   // Even after `stop.abort()`: goes out within the release window.
 *   await cleanupWork(() => client.remove("/vfs/.upload.tmp")).catch(() => {});
 *   throw e;
 * } finally {
 *   await client.close();
 * }
 * ```
 */
export function cleanupWork<T>(work: () => T): T {
  return cleanup.run(true, () => outsideOperationScope(work));
}

/** Whether the code running now runs inside {@linkcode cleanupWork}. */
export function inCleanupWork(): boolean {
  return cleanup.getStore() === true;
}
