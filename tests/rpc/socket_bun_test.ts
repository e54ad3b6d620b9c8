/**
 * The socket backends of Bun: our own socket through FFI (lib/rpc/socket_ffi.ts,
 * the single binary's default on Linux) and Bun.connect (socket_bun.ts).
 * Deno has neither, so the checks run in Bun
 * (tests/rpc/_bun_socket_check.ts, through RpcTransport against the fake
 * server): large records both ways with partial writes, pipelined calls, a
 * send that waits for room and a reply that comes in halves, a
 * dropped connection (retriable) and reconnect, close() with a call
 * pending, ECONNREFUSED; and the FFI socket's wait in poll(2) for streamed
 * replies (tests/rpc/_ffi_streaming_check.ts). Skipped when Bun is not
 * installed yet (`deno task build` installs it into .tools/bun).
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bun = `${root}.tools/bun/node_modules/.bin/bun`;

/**
 * Runs a check script under Bun and asserts each of its JSON lines is ok,
 * and that it printed `count` of them. A script that hangs (a server that
 * never starts, a wait that never ends) fails after two minutes.
 */
async function runBunChecks(script: string, socket: string, count: number): Promise<void> {
  const out = await new Deno.Command(bun, {
    args: [script],
    env: { NFS4_SOCKET: socket },
    cwd: root,
    signal: AbortSignal.timeout(120_000),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `bun exited ${out.code}:\n${stdout}\n${stderr}`);
  const checks = stdout.trim().split("\n").map((line) =>
    JSON.parse(line) as { check: string; ok: boolean; detail?: unknown }
  );
  for (const { check, ok, detail } of checks) {
    assert.ok(ok, `${check}: ${JSON.stringify(detail)}`);
  }
  assert.equal(checks.length, count, stdout);
}

for (const kind of ["ffi", "bun"]) {
  Deno.test({
    name: `RpcTransport over ${
      kind === "ffi" ? "the FFI socket" : "Bun.connect"
    }: large records, pipelining, drops, close, refusal`,
    ignore: !existsSync(bun),
    fn: () => runBunChecks("tests/rpc/_bun_socket_check.ts", kind, 13),
  });
}

Deno.test({
  name:
    "the FFI socket waits in poll(2) for streamed replies, bounded, ended by a signal, alone (setStreamingReplyWait)",
  ignore: !existsSync(bun),
  fn: () => runBunChecks("tests/rpc/_ffi_streaming_check.ts", "ffi", 8),
});
