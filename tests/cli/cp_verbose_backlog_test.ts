/**
 * `nfs4 cp -rv` into a pipe whose reader has stopped reading: the copy
 * waits once its -v lines not yet taken pass a bound, so memory does not
 * grow with the tree; once the reader reads, every line and file follows.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, tempDir } from "./_cp.ts";
import { ROOT } from "./_spawn.ts";

const FILES = 1500;

/**
 * `$NFS4 cp -rv SRC DST` into a fifo nobody reads until the copy has added
 * no file to DIR for two seconds; prints that count, then reads all.
 */
const STALLED_READER = `
fifo="$(mktemp -u)"; mkfifo "$fifo"; trap 'rm -f "$fifo"' EXIT
$NFS4 cp -rv "$1" "$2" > "$fifo" &
exec 3< "$fifo"
previous=-1; still=0
while [ "$still" -lt 4 ]; do
  sleep 0.5
  n=$(find "$3" -type f ! -name '.*' 2>/dev/null | wc -l)
  if [ "$n" -gt 0 ] && [ "$n" = "$previous" ]; then still=$((still + 1)); else still=0; fi
  previous=$n
done
echo "stalled at $n"
lines=$(wc -l <&3)
wait $!
echo "exit $? lines $lines"
`;

cpServerTest(
  "nfs4 cp -rv: a reader that stops reading stops the copy, and loses nothing",
  async (server) => {
    const local = await tempDir();
    try {
      await fs.mkdir(`${local}/src`);
      for (let i = 0; i < FILES; i++) {
        await fs.writeFile(`${local}/src/${String(i).padStart(4, "0")}-${"n".repeat(180)}`, "");
      }
      const out = await new Deno.Command("bash", {
        args: [
          "-c",
          STALLED_READER,
          "bash",
          `${local}/src`,
          `${server.url}/vfs/dst`,
          `${server.exportDir}/dst`,
        ],
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1", NFS4: `${Deno.execPath()} run -A cli/main.ts` },
      }).output();
      const [stalled, end] = new TextDecoder().decode(out.stdout).trim().split("\n");
      const atStall = Number(stalled!.replace("stalled at ", ""));
      console.log(stalled, end);
      // A pipe's 64 KiB, 64 KiB queued, the files in flight: a few hundred at most.
      assert.ok(atStall < FILES / 2, String(stalled));
      assert.equal(end, `exit 0 lines ${1 + FILES}`);
      assert.equal((await fs.readdir(`${server.exportDir}/dst`)).length, FILES);
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);
