/**
 * Helpers for the delegation tests: clients whose callback service the
 * scripted server reaches in memory (through each client's own RPC
 * dispatch, real XDR both ways), and the callback log in words.
 * @module
 */

import { CALLBACK_PROGRAM } from "../../lib/state/callback.ts";
import { Nfs4Status as S, statusName } from "../../lib/nfs4/status.ts";
import { Harness, type HarnessOptions } from "./_harness.ts";
import { type CallbackLogEntry, deliverCallbacksInMemory } from "./_scripted.ts";

/**
 * Starts a client whose callback service the server reaches in memory, and
 * marks it. The server's callbacks must go in memory already
 * ({@linkcode withCallbacks} does both).
 */
export async function startClient(h: Harness): Promise<Harness> {
  // 4.1: the client serves callbacks on its session's connection (CONN_BACK_CHAN).
  if (h.m.minorVersion === 1) h.channel.enableBackchannel();
  await h.m.start();
  // 4.0: a real client listens on a port of its own; here the server calls
  // the same handler through the channel.
  if (h.m.minorVersion === 0) h.channel.attachCallbacks(CALLBACK_PROGRAM, h.m.callbacks.handler);
  h.mark();
  return h;
}

/** A started client on a server of its own that grants delegations and calls back in memory. */
export function withCallbacks(
  minor: 0 | 1,
  options: HarnessOptions = { delegations: { read: true } },
): Promise<Harness> {
  const h = new Harness(minor, options);
  if (options.server === undefined) deliverCallbacksInMemory(h.server);
  return startClient(h);
}

/** Two clients, A and B, on one server that grants delegations. */
export async function pair(
  minor: 0 | 1,
  options: HarnessOptions = { delegations: { read: true } },
): Promise<{ a: Harness; b: Harness }> {
  const a = await withCallbacks(minor, { ...options, ownerId: "client-a" });
  const b = await startClient(new Harness(minor, { server: a.server, ownerId: "client-b" }));
  return { a, b };
}

/** `CB_SEQUENCE,CB_RECALL -> CB_SEQUENCE OK, CB_RECALL NFS4ERR_BADHANDLE`, per callback sent. */
export function callbacks(log: readonly CallbackLogEntry[], clientid?: bigint): string[] {
  return log.filter((e) => clientid === undefined || e.clientid === clientid).map((e) => {
    const what = e.procedure === "CB_COMPOUND" ? e.ops.join(",") : e.procedure;
    if (e.error) return `${what} !! ${e.error}`;
    if (e.acceptStat !== 0) return `${what} -> accept_stat ${e.acceptStat}`;
    if (e.results === undefined) return `${what} -> ok`;
    return `${what} -> ${e.results.map((r) => `${r.name} ${statusText(r.status)}`).join(", ")}`;
  });
}

/** `OK`, or the status's name. */
export function statusText(status: number): string {
  return status === S.NFS4_OK ? "OK" : statusName(status);
}

/** `SEQUENCE,PUTFH,OPEN` -> `PUTFH,OPEN`, so that 4.0 and 4.1 read alike. */
export function bare(ops: readonly string[]): string[] {
  return ops.map((o) => o.replace(/^SEQUENCE,/, "")).filter((o) =>
    o !== "SEQUENCE" && o !== "RENEW"
  );
}
