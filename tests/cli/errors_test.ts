/**
 * describeError() and exitCodeFor(): the one line printed for each kind of
 * failure, with the real error classes of the layers below; then the same
 * lines through the real CLI, each naming what the user typed: against
 * Ganesha, and where Ganesha cannot produce the fault, against the scripted
 * server (minor versions) and faulty RPC servers (tests/cli/_faulty_rpc.ts).
 */

import assert from "node:assert/strict";
import { describeError, exitCodeFor, noteConnectUrl } from "../../cli/errors.ts";
import { BrokenPipeError } from "../../cli/output.ts";
import { MinorVersionError, PathError } from "../../lib/client/errors.ts";
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
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { serverTest } from "../_server.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { startFaultyRpcServer } from "./_faulty_rpc.ts";
import { freePort, messageLines, nfs4, traceEvents } from "./_spawn.ts";

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
  assert.equal(
    describeError(rpc, false, { url }),
    "127.0.0.1:2049: server rejected RPC version 2: it accepts RPC version 3 only (RPC_MISMATCH)",
  );
  const range = new RpcDeniedError(call, {
    rejectStat: RPC_MISMATCH,
    mismatch: { low: 3, high: 4 },
  });
  assert.equal(
    describeError(range, false, { url }),
    "127.0.0.1:2049: server rejected RPC version 2: it accepts RPC versions 3 to 4 (RPC_MISMATCH)",
  );
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

Deno.test("describeError() says which minor version the server does not support", () => {
  const one = new MinorVersionError([1], { host: "10.0.0.1", port: 2050 });
  assert.equal(
    describeError(one, false, { url }),
    "10.0.0.1:2050: server does not support NFSv4.1 (NFS4ERR_MINOR_VERS_MISMATCH)",
  );
  const both = new MinorVersionError([1, 0], { host: "127.0.0.1", port: 2049 });
  assert.equal(
    describeError(both, false),
    "127.0.0.1:2049: server does not support NFSv4.1 or NFSv4.0 (NFS4ERR_MINOR_VERS_MISMATCH)",
  );
  assert.equal(exitCodeFor(both), 1);
});

Deno.test("describeError() names a path the client gave up on, and a name too long, by URL", () => {
  const loop = new PathError("/vfs/x", "Too many levels of symbolic links");
  assert.equal(
    describeError(loop, false, { url }),
    "nfs://127.0.0.1:2049/vfs/x: Too many levels of symbolic links",
  );
  const long = new NfsError(Nfs4Status.NFS4ERR_NAMETOOLONG, "LOOKUP", { path: "/vfs/x" });
  assert.equal(
    describeError(long, false, { url }),
    "nfs://127.0.0.1:2049/vfs/x: File name too long (NFS4ERR_NAMETOOLONG)",
  );
});

Deno.test("describeError() names a failed connection by the URL it was for", () => {
  const timeout = new RpcTimeoutError("no reply to xid 7", 5_000);
  const other = parseNfsUrl("nfs://srv:2050/export/a");
  noteConnectUrl(timeout, other);
  assert.equal(describeError(timeout, false), "srv:2050: timed out after 5 s");
  // The URL being worked on wins: both are on the same server.
  assert.equal(describeError(timeout, false, { url }), "127.0.0.1:2049: timed out after 5 s");
  const compound = new NfsError(Nfs4Status.NFS4ERR_SERVERFAULT, "COMPOUND");
  noteConnectUrl(compound, other);
  assert.equal(
    describeError(compound, false),
    "nfs://srv:2050/export/a: Server fault (NFS4ERR_SERVERFAULT)",
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

// ------------------------------------------- the one line, through the CLI

/** One command and the one line it must print on stderr, with its exit status. */
interface ErrorRow {
  args: string[];
  line: string;
  code: number;
}

/** Runs each row through the real CLI: exactly `line` on stderr, `code` as the status. */
async function assertRows(rows: readonly ErrorRow[]): Promise<void> {
  for (const { args, line, code } of rows) {
    const r = await nfs4(args);
    const what = `nfs4 ${args.join(" ").slice(0, 300)}`;
    assert.deepEqual(messageLines(r.stderr), [line], what);
    assert.equal(r.code, code, what);
  }
}

const LOCAL = await Deno.makeTempDir({ prefix: "nfs4-errors-" });
globalThis.addEventListener("unload", () => Deno.removeSync(LOCAL, { recursive: true }));
const LONG = "a".repeat(5000);

serverTest("every error names the URL as typed (Ganesha)", async (server) => {
  const root = server.exportDir;
  await Deno.mkdir(`${root}/dir`);
  await Deno.writeTextFile(`${root}/file`, "file\n");
  await Deno.symlink("loopb", `${root}/loopa`);
  await Deno.symlink("loopa", `${root}/loopb`);
  await Deno.writeTextFile(`${LOCAL}/local`, "local\n");
  const u = server.url;
  const noent = "No such file or directory (NFS4ERR_NOENT)";
  const tooLong = "File name too long (NFS4ERR_NAMETOOLONG)";
  const loop = "Too many levels of symbolic links";
  const down = await freePort();
  await assertRows([
    { args: ["ls", `${u}/vfs/missing`], line: `nfs4: ${u}/vfs/missing: ${noent}`, code: 1 },
    { args: ["ls", `${u}/vfs/a%20b`], line: `nfs4: ${u}/vfs/a%20b: ${noent}`, code: 1 },
    {
      args: ["cat", `${u}/vfs/dir`],
      line: `nfs4: ${u}/vfs/dir: Is a directory (NFS4ERR_ISDIR)`,
      code: 1,
    },
    {
      args: ["cp", `${u}/vfs/missing`, `${LOCAL}/out`],
      line: `nfs4: ${u}/vfs/missing: ${noent}`,
      code: 1,
    },
    // A missing lock file is made (as flock(1) makes it): a missing directory fails.
    {
      args: ["lock", `${u}/vfs/nodir/missing`],
      line: `nfs4: ${u}/vfs/nodir: ${noent}`,
      code: 1,
    },
    {
      args: ["renew-watch", "--open", "--duration", "1", `${u}/vfs/missing`],
      line: `nfs4: ${u}/vfs/missing: ${noent}`,
      code: 1,
    },
    // 5,000 bytes: refused before anything is sent; 300: over the server's maxname.
    { args: ["ls", `${u}/vfs/${LONG}`], line: `nfs4: ${u}/vfs/${LONG}: ${tooLong}`, code: 1 },
    {
      args: ["cp", `${LOCAL}/local`, `${u}/vfs/${LONG}`],
      line: `nfs4: ${u}/vfs/${LONG}: ${tooLong}`,
      code: 1,
    },
    {
      args: ["--vers", "4.0", "cat", `${u}/vfs/dir/${"b".repeat(300)}`],
      line: `nfs4: ${u}/vfs/dir/${"b".repeat(300)}: ${tooLong}`,
      code: 1,
    },
    { args: ["cat", `${u}/vfs/loopa`], line: `nfs4: ${u}/vfs/loopa: ${loop}`, code: 1 },
    { args: ["ls", `${u}/vfs/loopa/x`], line: `nfs4: ${u}/vfs/loopa/x: ${loop}`, code: 1 },
    {
      args: ["renew-watch", "--open", "--duration", "1", `${u}/vfs/loopa`],
      line: `nfs4: ${u}/vfs/loopa: ${loop}`,
      code: 1,
    },
    {
      args: ["cp", `nfs://127.0.0.1:${down}/vfs/x`, `${LOCAL}/out`],
      line: `nfs4: 127.0.0.1:${down}: Connection refused`,
      code: 1,
    },
  ]);
});

Deno.test({
  name: "every error names the server as typed (scripted servers: minor versions)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const only40 = new ScriptedServer({ now: () => performance.now() });
    only40.maxMinorVersion = 0;
    const only41 = new ScriptedServer({ now: () => performance.now() });
    only41.minMinorVersion = 1;
    const a = await startScriptedNfsServer(only40);
    const b = await startScriptedNfsServer(only41);
    try {
      const where40 = `127.0.0.1:${a.port}`;
      const where41 = `127.0.0.1:${b.port}`;
      await assertRows([
        {
          args: ["--vers", "4.1", "cp", `${a.url}/vfs/file`, `${LOCAL}/out`],
          line: `nfs4: ${where40}: server does not support NFSv4.1 (NFS4ERR_MINOR_VERS_MISMATCH)`,
          code: 1,
        },
        {
          args: ["--vers", "4.1", "renew-watch", "--duration", "1", `${a.url}/vfs`],
          line: `nfs4: ${where40}: server does not support NFSv4.1 (NFS4ERR_MINOR_VERS_MISMATCH)`,
          code: 1,
        },
        {
          args: ["--vers", "4.1", "ls", `${a.url}/vfs`],
          line: `nfs4: ${where40}: server does not support NFSv4.1 (NFS4ERR_MINOR_VERS_MISMATCH)`,
          code: 1,
        },
        {
          args: ["--vers", "4.0", "cat", `${b.url}/vfs/file`],
          line: `nfs4: ${where41}: server does not support NFSv4.0 (NFS4ERR_MINOR_VERS_MISMATCH)`,
          code: 1,
        },
      ]);
      // Asked for explicitly: no "trying the next minor version".
      const explicit = await nfs4(["--vers", "4.0", "--trace=json", "cat", `${b.url}/vfs/file`]);
      const refused = traceEvents(explicit.stderr).filter((e) => e.cat === "clid");
      assert.deepEqual(
        refused.map((e) => [e.event, e.detail]),
        [["NFSv4.0 not supported", "NFSv4.0 was asked for"]],
      );
      // auto: 4.1 refused, 4.0 tried next and used.
      const auto = await nfs4(["--trace=json", "cat", `${a.url}/vfs/file`]);
      assert.equal(auto.code, 0, auto.stderr);
      assert.equal(auto.stdout, "hello, world\n");
      const fallback = traceEvents(auto.stderr).find((e) => e.event === "NFSv4.1 not supported");
      assert.equal(fallback?.detail, "trying NFSv4.0");
      assert.deepEqual([...a.errors, ...b.errors], []);
    } finally {
      await a.close();
      await b.close();
    }
  },
});

Deno.test({
  name: "every error names the server as typed (faulty RPC servers)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const silent = await startFaultyRpcServer({ mode: "silent" });
    const mismatch = await startFaultyRpcServer({ mode: "rpc-mismatch", low: 3, high: 4 });
    const garbage = await startFaultyRpcServer({ mode: "garbage-compound" });
    try {
      await assertRows([
        {
          args: ["--timeout", "0.5", "cp", `${silent.url}/vfs/file`, `${LOCAL}/out`],
          line: `nfs4: 127.0.0.1:${silent.port}: timed out after 0.5 s`,
          code: 1,
        },
        {
          args: ["cat", `${mismatch.url}/vfs/file`],
          line: `nfs4: 127.0.0.1:${mismatch.port}: server rejected RPC version 2: ` +
            "it accepts RPC versions 3 to 4 (RPC_MISMATCH)",
          code: 1,
        },
        {
          args: ["--vers", "4.0", "cp", `${garbage.url}/vfs/file`, `${LOCAL}/out`],
          line: `nfs4: 127.0.0.1:${garbage.port}: malformed COMPOUND reply to SETCLIENTID: ` +
            "truncated unsigned int: need 4 bytes, 0 remain (at byte 28)",
          code: 1,
        },
      ]);
    } finally {
      await silent.close();
      await mismatch.close();
      await garbage.close();
    }
  },
});
