/**
 * `nfs4 cp -v`'s lines on a stdout that does not take them at once: a pipe
 * whose reader waits before it reads gets every line (the command waits for
 * it rather than exit with lines still queued), and a stdout that fails
 * (`> /dev/full`, the real device) makes the command say so once and exit 1
 * after copying everything, as coreutils' cp does.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { cpServerTest, tempDir } from "./_cp.ts";
import { messageLines, ROOT } from "./_spawn.ts";

/** Files in the tree: with their long names, -v lines fill more than two pipe buffers. */
const FILES = 400;

/** A tree of FILES empty files with long names; the names, sorted. */
async function longNamedTree(dir: string): Promise<string[]> {
  await fs.mkdir(dir);
  const names: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const name = `${String(i).padStart(4, "0")}-${"n".repeat(180)}`;
    await fs.writeFile(`${dir}/${name}`, "");
    names.push(name);
  }
  return names.sort();
}

/** Runs bash `script` with `$NFS4` set to `deno run -A cli/main.ts`; its stdout, stderr, status. */
async function bash(script: string, ...args: string[]) {
  const out = await new Deno.Command("bash", {
    args: ["-c", script, "bash", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", NFS4: `${Deno.execPath()} run -A cli/main.ts` },
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/**
 * `$NFS4 cp -rv SRC DST` into a fifo whose reader reads nothing until the
 * copy has stopped adding files to DIR (the export's side of DST) for two
 * seconds; then reads all. Prints the lines read to stdout, and the exit
 * status of nfs4 on the last line.
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
cat <&3
wait $!
echo "exit $?"
`;

cpServerTest(
  "nfs4 cp -rv: every line reaches a reader that waits, and a full stdout fails once",
  async (server, t) => {
    const local = await tempDir();
    try {
      const names = await longNamedTree(`${local}/src`);

      await t.step("a reader that waits before it reads gets every line", async () => {
        const dst = `${server.url}/vfs/waited`;
        const r = await bash(STALLED_READER, `${local}/src`, dst, `${server.exportDir}/waited`);
        const lines = r.stdout.trimEnd().split("\n");
        assert.equal(lines.pop(), "exit 0", r.stderr);
        assert.equal(r.stderr, "");
        // The directory, then each file, as coreutils' cp -v says it.
        assert.equal(lines.length, 1 + FILES);
        assert.equal(lines[0], `'${local}/src' -> '${dst}'`);
        assert.deepEqual(
          lines.slice(1).sort(),
          names.map((name) => `'${local}/src/${name}' -> '${dst}/${name}'`),
        );
        assert.ok(r.stdout.length > 2 * 65536, "more than a pipe holds");
      });

      await t.step("> /dev/full: everything copied, one write error, exit 1", async () => {
        const dst = `${server.url}/vfs/full`;
        const r = await bash(`$NFS4 cp -rv "$1" "$2" > /dev/full`, `${local}/src`, dst);
        assert.equal(r.code, 1, r.stderr);
        assert.deepEqual(messageLines(r.stderr), ["nfs4: write error: No space left on device"]);
        const copied = (await fs.readdir(`${server.exportDir}/full`)).sort();
        assert.deepEqual(copied, names);
      });
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);
