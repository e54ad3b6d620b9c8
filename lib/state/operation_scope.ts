/**
 * A soft stop for the operations a piece of work starts: `nfs4 shell` runs
 * each verb under its own signal, so Ctrl-C ends that verb and leaves the
 * client (its lease, session, opens and locks) intact for the next one; a
 * one-shot command runs under one that SIGINT/SIGTERM ends with its clients
 * (cli/program.ts), so after the signal it starts nothing new while its
 * releases, run outside the scope (`outsideOperationScope`), still go out.
 *
 * Unlike a `RunOptions.signal` (a hard limit that also abandons a request in
 * flight, whose outcome is then unknown), this stop never abandons a request
 * that changes state: it stops an operation before it is sent and while it
 * waits (recovery, DELAY and GRACE backoff). A state change in flight is
 * answered (sent again as itself until it is) and its result is kept (an
 * OPEN's state is recorded, a granted lock is known), so nothing is held
 * that the client does not know about in a session that lives on. A
 * request that changes nothing (READ, GETATTR, LOOKUP, READDIR) on its way
 * is left behind at the stop: its caller stops waiting at once, so a server
 * that stopped answering does not hold Ctrl-C for the minutes its resends
 * may take, while the request goes on to its answer (which frees its 4.1
 * slot; abandoned, the slot would be left uncertain for good).
 *
 * The scope follows the work across `await`s (AsyncLocalStorage, which
 * Deno, Node and Bun provide as `node:async_hooks`).
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

const scope = new AsyncLocalStorage<AbortSignal | undefined>();

/**
 * Runs `work` with `signal` as the soft stop of every state-manager
 * operation it starts (see the module documentation).
 *
 * @example
 * ```ts
 * import { Nfs4Client } from "../../mod.ts";
 *
 * await using client = await Nfs4Client.connect({ host: "127.0.0.1", port: 2049 });
 * const verb = new AbortController();
 * setTimeout(() => verb.abort(), 5_000); // this piece of work only: the client goes on
 * await withOperationSignal(verb.signal, () => client.stat("/vfs/a"));
 * ```
 */
export function withOperationSignal<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  return scope.run(signal, work);
}

/**
 * Runs `work` with `signal` added to the soft stop it already runs under, if
 * any: a command run as a verb of `nfs4 shell` stops at its own stop or at
 * the verb's, whichever comes first.
 */
export function withAddedOperationSignal<T>(
  signal: AbortSignal,
  work: () => Promise<T>,
): Promise<T> {
  const outer = scope.getStore();
  const both = outer === undefined || outer === signal ? signal : AbortSignal.any([outer, signal]);
  return scope.run(both, work);
}

/** The soft stop of the work running now, if any. */
export function operationSignal(): AbortSignal | undefined {
  return scope.getStore();
}

/**
 * Runs `work` outside any operation scope: for what the state manager does
 * on its own behalf (its recovery loop, lease timers, callbacks), which a
 * verb's Ctrl-C must never stop even when that verb's work set it going.
 */
export function outsideOperationScope<T>(work: () => T): T {
  // run(undefined), not exit(): Deno's exit() loses hold of the empty
  // store after the work's first await.
  return scope.run(undefined, work);
}
