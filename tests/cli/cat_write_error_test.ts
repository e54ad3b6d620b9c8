/**
 * `nfs4 cat` into a stdout that fails otherwise than by its reader going
 * away (`> /dev/full`, the real device): it stops at the first failed
 * write, as coreutils cat(1) does, with one line naming the write, exit 1,
 * and opens no file after it; what it had opened ahead is closed.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { exclusiveOpenStatus, ROOT, traceEvents } from "./_spawn.ts";

/**
 * Runs `nfs4 --vers VERS --trace=json --trace-file FILE cat ...urls >
 * /dev/full`: its status, stderr (the messages alone) and the paths it
 * sent an OPEN for.
 */
async function catIntoFull(
  vers: string,
  urls: readonly string[],
): Promise<{ code: number; stderr: string; opened: Set<string> }> {
  const trace = await Deno.makeTempFile({ suffix: ".json" });
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      '"$@" > /dev/full',
      "nfs4",
      Deno.execPath(),
      "run",
      "-A",
      "cli/main.ts",
      "--vers",
      vers,
      "--trace=json",
      "--trace-file",
      trace,
      "cat",
      ...urls,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const events = traceEvents(await Deno.readTextFile(trace));
  await Deno.remove(trace);
  const opened = new Set(
    events.filter((e) => e.cat === "open" && e.event === "OPEN").map((e) => String(e.path)),
  );
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr), opened };
}

serverTest(
  "nfs4 cat > /dev/full: one write error, exit 1, no file opened after it",
  async (server) => {
    const dir = `${server.exportDir}/c`;
    await Deno.mkdir(dir);
    const small = Array.from({ length: 60 }, (_, i) => `s${i}`);
    for (const name of small) await Deno.writeTextFile(`${dir}/${name}`, `${name}\n`);
    const big = new Uint8Array(3 * 1024 * 1024 + 7);
    for (let at = 0; at < big.length; at += 65536) {
      crypto.getRandomValues(big.subarray(at, Math.min(big.length, at + 65536)));
    }
    await Deno.writeFile(`${dir}/big`, big);
    const url = (name: string) => `${server.url}/vfs/c/${name}`;

    for (const vers of ["4.0", "4.1"] as const) {
      // Small files first (written as one batch), the large one, many more.
      const names = ["s0", "s1", "big", ...small.slice(2)];
      const r = await catIntoFull(vers, names.map(url));
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, "nfs4: write error: No space left on device\n");
      // Files are opened at most 16 ahead of the one being written: the
      // failure, at the first write, leaves the last ones never opened.
      assert.ok(r.opened.size > 0 && r.opened.size <= 1 + 16, [...r.opened].join(" "));
      for (const name of names.slice(20)) assert.ok(!r.opened.has(`/vfs/c/${name}`), name);

      // The large file first: nothing else is opened while it streams.
      const first = await catIntoFull(vers, ["big", ...small].map(url));
      assert.equal(first.code, 1, first.stderr);
      assert.equal(first.stderr, "nfs4: write error: No space left on device\n");
      assert.deepEqual([...first.opened], ["/vfs/c/big"]);
      // Nothing left open on the server: another client may open it exclusively.
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/c/big"), "NFS4_OK");
    }
  },
);
