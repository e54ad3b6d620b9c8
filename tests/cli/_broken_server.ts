/**
 * A scripted server (tests/_nfs4_server.ts) broken in one chosen way
 * (`readSurplus`, `writeOvercount`, `readNothingFrom` ...) with one file,
 * `/vfs/big`, for the CLI tests of what a server's answer is held to
 * (overcount_test.ts, read_no_progress_test.ts). After the test's body it
 * checks that the scripted server did not fail itself and that the command
 * left the server clean.
 * @module
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { ScriptedServer, type ScriptedServerOptions } from "../state/_scripted.ts";
import { tempDir, temporaries } from "./_cp.ts";
import { nfs4, type Result } from "./_spawn.ts";

/** `/vfs/big`'s size: larger than what `cat` reads with its OPEN (256 KiB), so plain READs follow. */
export const BIG_SIZE = 3 * 1024 * 1024;
/** `/vfs/big`'s content. */
export const BIG_CONTENT = "0123456789abcdef".repeat(BIG_SIZE / 16);

/** Runs `fn` against a scripted server with `options` serving `/vfs/big`. */
export async function withBrokenServer(
  options: ScriptedServerOptions,
  fn: (url: string, server: ScriptedServer) => Promise<void>,
): Promise<void> {
  const server = new ScriptedServer({
    now: () => performance.now(),
    files: { "/vfs/big": BIG_CONTENT },
    ...options,
  });
  const served = await startScriptedNfsServer(server);
  try {
    await fn(served.url, server);
    assert.deepEqual(served.errors, [], "the scripted server itself did not fail");
    assertLeftClean(server);
  } finally {
    await served.close();
  }
}

/** The command closed what it opened and, on 4.1, destroyed its session and client ID. */
export function assertLeftClean(server: ScriptedServer): void {
  assert.equal(server.states.size, 0, "no open or lock state left");
  assert.equal(server.sessions.size, 0, "no session left");
  const clients = [...server.clients.values()].filter((c) => c.minorVersion !== 0);
  assert.equal(clients.length, 0, "no 4.1 client ID left");
}

/** stderr is one line, `nfs4: ` and then what `what` matches. */
export function assertOneErrorLine(stderr: string, what: RegExp): void {
  const lines = stderr.split("\n").filter((line) => line.length > 0);
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0]!, /^nfs4: /);
  assert.match(lines[0]!, what);
}

/**
 * `nfs4 --vers VERS cp URL/vfs/big DIR/big` fails: exit 1, one line that
 * `what` matches, and neither the file nor a temporary left in DIR.
 */
export async function assertCopyDownFails(vers: string, url: string, what: RegExp): Promise<void> {
  const dir = await tempDir("nfs4-broken-");
  try {
    const r = await nfs4(["--vers", vers, "--timeout", "5", "cp", `${url}/vfs/big`, `${dir}/big`]);
    assert.equal(r.code, 1, r.stderr);
    assertOneErrorLine(r.stderr, what);
    await assert.rejects(fs.stat(`${dir}/big`), "no file at the destination");
    assert.deepEqual(await temporaries(dir), [], "no temporary left");
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * `nfs4 --vers VERS cp LOCAL URL/vfs/up`, LOCAL a temporary file holding
 * `content` (removed afterwards): an upload to the broken server.
 */
export async function copyUp(vers: string, url: string, content: string): Promise<Result> {
  const dir = await tempDir("nfs4-up-");
  try {
    await fs.writeFile(`${dir}/up`, content);
    return await nfs4(["--vers", vers, "--timeout", "5", "cp", `${dir}/up`, `${url}/vfs/up`]);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
