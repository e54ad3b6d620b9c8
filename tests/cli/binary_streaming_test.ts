/**
 * Large reads through the single binary, whose socket waits for streamed
 * READ replies in poll(2) (lib/rpc/socket_ffi.ts, `setStreamingReplyWait`,
 * set by cli/connect.ts): `cat` and `cp` of a 40 MiB file bring every byte,
 * and Ctrl-C while the reply a `cat` waits for is held back (the fault
 * proxy delays it 5 s) ends the command at once (RFC 7530 §16.23's READ is
 * no state change: it is abandoned), its state released, exit 130.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "../../scripts/build.ts";
import { serverTest } from "../_server.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { sleep, startNfs4 } from "./_lock.ts";
import { assertClean, VERSIONS } from "./_clean_exit.ts";

const SIZE = 40 << 20;

let built: string | undefined;
/** The binary, built once for this module. */
function binary(work: string): string {
  built ??= build(join(work, "nfs4")).outfile;
  return built;
}

const work = mkdtempSync(join(tmpdir(), "nfs4-binary-streaming-"));
globalThis.addEventListener("unload", () => rmSync(work, { recursive: true, force: true }));

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(length, at + 65_536)));
  }
  return bytes;
}

for (const vers of VERSIONS) {
  serverTest(`the binary's cat and cp of 40 MiB bring every byte (NFSv${vers})`, async (server) => {
    const data = randomBytes(SIZE);
    writeFileSync(join(server.exportDir, "big"), data);
    const nfs4 = binary(work);
    const url = `${server.url}/vfs/big`;
    const cat = await new Deno.Command(nfs4, {
      args: ["--vers", vers, "cat", url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(cat.code, 0, new TextDecoder().decode(cat.stderr));
    assert.equal(cat.stdout.length, SIZE);
    assert.ok(Buffer.from(cat.stdout).equals(data), "cat's bytes are the file's");
    const local = join(work, `big-${vers}`);
    const cp = await new Deno.Command(nfs4, {
      args: ["--vers", vers, "cp", url, local],
      stderr: "piped",
    }).output();
    assert.equal(cp.code, 0, new TextDecoder().decode(cp.stderr));
    assert.ok(readFileSync(local).equals(data), "cp's copy is the file");
    rmSync(local);
  });

  serverTest(
    `the binary's cat: SIGINT while a READ reply is held back ends it at once, state released (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "big"), randomBytes(SIZE));
      const nfs4 = binary(work);
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      proxy.delayReply("READ", 5_000, { nth: 6 });
      const reading = startNfs4(
        ["--vers", vers, "--trace=json", "cat", `${proxy.url}/vfs/big`],
        {},
        { binary: nfs4, discardStdout: true },
      );
      for (let i = 0; i < 1_000 && proxy.opCount("READ") < 7; i++) await sleep(10);
      assert.ok(proxy.opCount("READ") >= 7, "READs past the held one were sent");
      await sleep(300);
      const signalledAt = performance.now();
      reading.kill("SIGINT");
      const ended = await reading.done;
      assert.equal(ended.code, 130, ended.stderr);
      assert.ok(
        ended.endedAt - signalledAt < 2_000,
        `exited ${Math.round(ended.endedAt - signalledAt)} ms after SIGINT`,
      );
      await assertClean(server, vers, ended.stderr, `${vers} binary cat, SIGINT`, {
        files: ["/vfs/big"],
      });
    },
  );
}
