/**
 * `--trace` against a server that serves NFSv4.0 only (Ganesha with
 * `--minor-versions 0`): the client ID of each minor version tried first
 * (4.2, 4.1) is refused NFS4ERR_MINOR_VERS_MISMATCH (RFC 7530 §15.2, RFC
 * 8881 §15.1.3.5), which is how a client learns what a server speaks. The
 * trace tells it as what it is, the step that asked for the client ID
 * ends `step LEASE_EXPIRED refused (NFSv4.1: COMPOUND ->
 * NFS4ERR_MINOR_VERS_MISMATCH (…))`, then `clid NFSv4.1 not supported
 * (trying NFSv4.0)`, with no `error` event. Before, each refusal was also
 * an `error LEASE_EXPIRED failed` line, two false errors in every trace of
 * a command that went on to succeed. A version asked for and refused fails
 * the command, and its one error line is the error.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4, traceEvents } from "./_spawn.ts";

serverTest(
  "--trace on a 4.0-only server: the refused minor versions end their step `refused`, no `error` event (RFC 7530 §15.2)",
  async (server) => {
    writeFileSync(join(server.exportDir, "f.txt"), "hello\n");
    const url = `${server.url}/vfs`;

    const auto = await nfs4(["--trace=json", "ls", url]);
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal(auto.stdout, "f.txt\n");
    const events = traceEvents(auto.stderr);
    assert.deepEqual(events.filter((e) => e.cat === "error"), [], auto.stderr);
    const told = events
      .filter((e) => e.cat === "clid" || (e.cat === "step" && e.event.startsWith("LEASE_EXPIRED")))
      .map((e) => [e.event, e.detail]);
    const refused = (minor: string) =>
      `NFSv${minor}: COMPOUND -> NFS4ERR_MINOR_VERS_MISMATCH (the server does not serve this ` +
      "minor version)";
    assert.deepEqual(told.slice(0, 6), [
      ["LEASE_EXPIRED start", "new client"],
      ["LEASE_EXPIRED refused", refused("4.2")],
      ["NFSv4.2 not supported", "trying NFSv4.1"],
      ["LEASE_EXPIRED start", "new client"],
      ["LEASE_EXPIRED refused", refused("4.1")],
      ["NFSv4.1 not supported", "trying NFSv4.0"],
    ], auto.stderr);
    const clid = told.filter(([event]) => !event!.startsWith("LEASE_EXPIRED"));
    assert.ok(clid.some(([event]) => event === "SETCLIENTID ok"), auto.stderr);

    // Asked for, and refused: the command's own line is the one error.
    const asked = await nfs4(["--vers", "4.1", "--trace=json", "ls", url]);
    assert.equal(asked.code, 1, asked.stderr);
    const errors = traceEvents(asked.stderr).filter((e) => e.cat === "error");
    assert.equal(errors.length, 1, asked.stderr);
    assert.match(
      errors[0]!.detail ?? "",
      /server does not support NFSv4\.1 \(NFS4ERR_MINOR_VERS_MISMATCH\)$/,
      asked.stderr,
    );
  },
  { minorVersions: [0] },
);
