/**
 * What the clean-exit tests (tests/cli/clean_exit_*_test.ts) check after a
 * command has exited, from its `--trace=json` events and from the server:
 * every OPEN closed (a `CLOSE -> NFS4ERR_...` is a refused close, not a
 * close), every LOCK unlocked, on 4.1 the session and client ID destroyed
 * (the server answers a probe's DESTROY_CLIENTID of it with
 * NFS4ERR_STALE_CLIENTID), and another client granted an exclusive open of
 * each file the command touched.
 *
 * ```ts
 * const r = await nfs4(["--vers", "4.1", "--trace=json", "cat", url]);
 * await assertClean(server, "4.1", r.stderr, "cat", { files: ["/vfs/f"] });
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import type { TestServer } from "../_server.ts";
import {
  destroyClientIdStatus,
  exclusiveOpenStatus,
  traceEvents,
  type TraceLine,
} from "./_spawn.ts";

export const VERSIONS = ["4.0", "4.1"] as const;
export type Version = (typeof VERSIONS)[number];

/** What else to check of one run. */
export interface CleanOptions {
  /** Server paths (`/vfs/...`) another client must then open with share deny BOTH. */
  readonly files?: readonly string[];
  /** The command made no client ID at all (it failed before connecting). */
  readonly noClient?: boolean;
}

/** The `other` part of a stateid as traced (`OTHER:SEQID`). */
function other(stateid: string): string {
  return stateid.split(":")[0] ?? "";
}

/**
 * A CLOSE that did not close: refused (`CLOSE -> NFS4ERR_...`), or not run
 * because its SEQUENCE failed (`SEQUENCE -> NFS4ERR_...`, detail
 * `PATH: CLOSE not run`).
 */
function refusedClose(e: TraceLine): boolean {
  return e.cat === "open" &&
    (e.event.startsWith("CLOSE -> ") ||
      (e.event.startsWith("SEQUENCE -> ") && String(e.detail).endsWith(": CLOSE not run")));
}

/** The open, lock and client ID bookkeeping of one run's events, as lists of problems. */
export function stateProblems(all: readonly TraceLine[], vers: Version): string[] {
  const problems: string[] = [];
  // `simulate-reboot --client` drops its first incarnation's state on purpose
  // ("client crash simulated"); the server forgets it when the same owner
  // comes back (checked by assertClean's probe), so only what follows counts.
  const crash = all.findLastIndex((e) => e.event === "client crash simulated");
  const events = crash < 0
    ? all
    : all.filter((e, i) => i > crash || e.client !== all[crash]!.client);
  const opened = events.filter((e) => e.cat === "open" && e.event === "OPEN")
    .map((e) => other(String(e.stateid)));
  const closed = events.filter((e) => e.cat === "open" && e.event === "CLOSE")
    .map((e) => other(String(e.detail).split(" ")[1] ?? ""));
  for (const id of opened) {
    if (!closed.includes(id)) problems.push(`OPEN ${id} has no CLOSE`);
  }
  for (const e of events) {
    if (refusedClose(e)) problems.push(`refused close: ${e.event} ${e.detail ?? ""}`);
  }
  // A LOCK of a range is traced as "LOCK", its LOCKU as "LOCKU".
  const locks = events.filter((e) => e.cat === "lock" && e.event === "LOCK");
  const unlocks = events.filter((e) => e.cat === "lock" && e.event === "LOCKU");
  if (unlocks.length !== locks.length) {
    problems.push(`${locks.length} LOCK(s), ${unlocks.length} LOCKU(s)`);
  }
  if (vers === "4.1") {
    const made = events.filter((e) => e.cat === "clid" && e.event === "EXCHANGE_ID ok").length;
    const sessions = events.filter((e) => e.cat === "sess" && e.event === "CREATE_SESSION ok");
    const destroyedSessions = events.filter((e) => e.event === "DESTROY_SESSION ok");
    const destroyed = events.filter((e) => e.event === "DESTROY_CLIENTID ok").length;
    if (destroyedSessions.length < sessions.length) {
      problems.push(`${sessions.length} session(s), ${destroyedSessions.length} destroyed`);
    }
    if (destroyed !== made) problems.push(`${made} client ID(s), ${destroyed} destroyed`);
  }
  return problems;
}

/** The client IDs a run established (hex strings, `0x` and 16 digits, of the trace's `clientid` field). */
export function clientIds(events: readonly TraceLine[]): bigint[] {
  return events.filter((e) =>
    e.cat === "clid" && (e.event === "EXCHANGE_ID ok" || e.event === "SETCLIENTID ok")
  ).map((e) => BigInt(String(e.clientid)));
}

/**
 * Asserts that the run whose stderr is `stderr` (all `--trace=json`) left
 * nothing on the server: see the module comment.
 */
export async function assertClean(
  server: TestServer,
  vers: Version,
  stderr: string,
  what: string,
  options: CleanOptions = {},
): Promise<void> {
  const events = traceEvents(stderr);
  const problems = stateProblems(events, vers);
  const ids = clientIds(events);
  if (options.noClient) assert.deepEqual(ids, [], `${what}: no client ID`);
  else assert.ok(ids.length > 0, `${what}: a client ID was made`);
  if (vers === "4.1") {
    for (const id of ids) {
      const status = await destroyClientIdStatus(server, id);
      if (status !== "NFS4ERR_STALE_CLIENTID") {
        problems.push(`client ID ${id} still known: ${status}`);
      }
    }
  }
  // A refused CLOSE: does the server still hold the file open?
  const refused = traceEvents(stderr).filter(refusedClose)
    .map((e) => String(e.detail).replace(/: CLOSE not run$/, ""));
  for (const path of new Set(refused)) {
    const status = await exclusiveOpenStatus(server, vers, path);
    problems.push(`after the refused CLOSE, exclusive open of ${path}: ${status}`);
  }
  for (const path of options.files ?? []) {
    const status = await exclusiveOpenStatus(server, vers, path);
    if (status !== "NFS4_OK") problems.push(`exclusive open of ${path}: ${status}`);
  }
  assert.deepEqual(problems, [], what);
}
