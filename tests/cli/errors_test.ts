/**
 * describeError() and exitCodeFor(): the one line printed for each kind of
 * failure, with the real error classes of the layers below.
 */

import assert from "node:assert/strict";
import { describeError, exitCodeFor } from "../../cli/errors.ts";
import { BrokenPipeError } from "../../cli/output.ts";
import { parseNfsUrl, UsageError } from "../../lib/client/url.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status } from "../../lib/nfs4/status.ts";
import {
  RpcAcceptedError,
  RpcConnectionError,
  RpcDeniedError,
  RpcTimeoutError,
} from "../../lib/rpc/errors.ts";
import {
  AUTH_ERROR,
  PROC_UNAVAIL,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  RPC_MISMATCH,
} from "../../lib/rpc/message.ts";
import { BadStateError } from "../../lib/state/open_state.ts";
import { RecoveryError } from "../../lib/state/manager.ts";

const url = parseNfsUrl("nfs://127.0.0.1:2049/vfs/x");
const call = { xid: 1, program: 100003, version: 4, procedure: 1 };

Deno.test("describeError() names an NfsError by the user's URL", () => {
  const noent = new NfsError(Nfs4Status.NFS4ERR_NOENT, "LOOKUP", { path: "/vfs/x" });
  assert.equal(
    describeError(noent, false, { url }),
    "nfs://127.0.0.1:2049/vfs/x: No such file or directory (NFS4ERR_NOENT)",
  );
  // Another path on the same server: the server part as typed, the path encoded.
  const inner = new NfsError(Nfs4Status.NFS4ERR_ACCESS, "LOOKUP", { path: "/vfs/a b" });
  assert.equal(
    describeError(inner, false, { url }),
    "nfs://127.0.0.1:2049/vfs/a%20b: Permission denied (NFS4ERR_ACCESS)",
  );
  // No path: the URL being worked on.
  const bare = new NfsError(Nfs4Status.NFS4ERR_ISDIR, "OPEN");
  assert.equal(
    describeError(bare, false, { url }),
    "nfs://127.0.0.1:2049/vfs/x: Is a directory (NFS4ERR_ISDIR)",
  );
  assert.equal(describeError(bare, false), "OPEN: Is a directory (NFS4ERR_ISDIR)");
  // A URL already.
  const named = new NfsError(Nfs4Status.NFS4ERR_STALE, "GETATTR", { path: "nfs://h/y" });
  assert.equal(
    describeError(named, false, { url }),
    "nfs://h/y: Stale file handle (NFS4ERR_STALE)",
  );
});

Deno.test("describeError() words connection failures with host:port", () => {
  const refused = RpcConnectionError.fromSocketError(
    "127.0.0.1",
    1,
    Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
  );
  assert.equal(describeError(refused, false, { url }), "127.0.0.1:1: Connection refused");
  const reset = RpcConnectionError.fromSocketError(
    "::1",
    2049,
    Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
  );
  assert.equal(describeError(reset, false), "[::1]:2049: Connection reset by peer");
  const dns = RpcConnectionError.fromSocketError(
    "nosuch.invalid",
    2049,
    Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }),
  );
  assert.equal(describeError(dns, false), "nosuch.invalid: Name or service not known");
  const closed = new RpcConnectionError("transport closed", { host: "127.0.0.1", port: 2049 });
  assert.equal(describeError(closed, false), "127.0.0.1:2049: transport closed");
  const named = new RpcConnectionError("connection to 127.0.0.1:2049 lost", {
    host: "127.0.0.1",
    port: 2049,
  });
  assert.equal(describeError(named, false), "connection to 127.0.0.1:2049 lost");
});

Deno.test("describeError() words a timeout with its duration", () => {
  const timeout = new RpcTimeoutError("no reply to xid 7", 30_000);
  assert.equal(describeError(timeout, false, { url }), "127.0.0.1:2049: timed out after 30 s");
  const plain = Object.assign(new Error("late"), { name: "RpcTimeoutError" });
  assert.equal(
    describeError(plain, false, { url, timeoutSeconds: 2.5 }),
    "127.0.0.1:2049: timed out after 2.5 s",
  );
});

Deno.test("describeError() says a server without NFSv4 does not speak it", () => {
  const unavail = new RpcAcceptedError(call, PROG_UNAVAIL);
  assert.equal(
    describeError(unavail, false, { url }),
    "127.0.0.1:2049: server does not speak NFSv4",
  );
  const mismatch = new RpcAcceptedError(call, PROG_MISMATCH, { low: 2, high: 3 });
  assert.equal(
    describeError(mismatch, false, { url }),
    "127.0.0.1:2049: server does not speak NFSv4 (it offers versions 2 to 3)",
  );
  const rpc = new RpcDeniedError(call, { rejectStat: RPC_MISMATCH, mismatch: { low: 3, high: 3 } });
  assert.equal(describeError(rpc, false, { url }), "127.0.0.1:2049: server does not speak NFSv4");
  const auth = new RpcDeniedError(call, { rejectStat: AUTH_ERROR, authStat: 5 });
  assert.match(
    describeError(auth, false, { url }),
    /^127\.0\.0\.1:2049: server refused the credentials \(AUTH_/,
  );
  const proc = new RpcAcceptedError(call, PROC_UNAVAIL);
  assert.match(
    describeError(proc, false, { url }),
    /^127\.0\.0\.1:2049: server rejected .*PROC_UNAVAIL/,
  );
});

Deno.test("describeError() passes BadStateError through, as a URL", () => {
  const bad = new BadStateError("/vfs/x", "lease expired");
  assert.equal(
    describeError(bad, false, { url }),
    "nfs://127.0.0.1:2049/vfs/x: Bad file descriptor: state lost in recovery (lease expired)",
  );
  assert.equal(describeError(bad, false), bad.message);
});

Deno.test("describeError() looks behind a RecoveryError for the RPC failure", () => {
  const refused = RpcConnectionError.fromSocketError(
    "127.0.0.1",
    1,
    Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
  );
  const recovery = new RecoveryError("could not establish a client ID", { cause: refused });
  assert.equal(describeError(recovery, false, { url }), "127.0.0.1:1: Connection refused");
  const bare = new RecoveryError("could not establish a client ID after 10 attempts");
  assert.equal(
    describeError(bare, false, { url }),
    "127.0.0.1:2049: could not establish a client ID after 10 attempts",
  );
});

Deno.test("describeError() adds the cause chain with verbose", () => {
  const root = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
    code: "ECONNREFUSED",
  });
  const err = new Error("Something failed", { cause: new TypeError("inner", { cause: root }) });
  assert.equal(describeError(err, false), "Something failed");
  assert.equal(
    describeError(err, true),
    [
      "Something failed",
      "  caused by: TypeError: inner",
      "  caused by: Error (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:1",
    ].join("\n"),
  );
  // A cycle does not loop.
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  (a as { cause?: unknown }).cause = b;
  assert.equal(describeError(a, true), "a\n  caused by: Error: b");
  assert.equal(describeError("a string", true), "a string");
});

Deno.test("exitCodeFor() maps usage errors to 2, a closed stdout to 0, the rest to 1", () => {
  assert.equal(exitCodeFor(new UsageError("x")), 2);
  assert.equal(exitCodeFor(new BrokenPipeError()), 0);
  assert.equal(exitCodeFor(new NfsError(2, "LOOKUP")), 1);
  assert.equal(exitCodeFor(new Error("x")), 1);
  assert.equal(exitCodeFor("thrown string"), 1);
});
