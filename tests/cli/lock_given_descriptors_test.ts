/**
 * `nfs4 lock URL -- COMMAND` passes on every descriptor it was given, as
 * flock(1), timeout(1) and env(1) do (a script's `exec 7>log`, make's
 * jobserver pipe): under the single binary (Bun, which marks inherited
 * descriptors close-on-exec and gives a child only those named) COMMAND got
 * none of them. The client instance's descriptor goes to 19, or past the
 * numbers nfs4 was given (lock_kill_test shows why COMMAND holds it).
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { builtBinary } from "./_binary.ts";
import { commandStdio } from "../../cli/lock.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

Deno.test("commandStdio: given descriptors keep their numbers; the instance goes to 19 or the next free number", () => {
  assert.deepEqual(commandStdio([], []), ["inherit", "inherit", "inherit"]);
  const plain = commandStdio([42], []);
  assert.equal(plain.length, 20);
  assert.equal(plain[19], 42);
  assert.ok(plain.slice(3, 19).every((entry) => entry === "ignore"));
  const given = commandStdio([42, 43], [5, 19, 20, 22]);
  assert.equal(given[5], 5);
  assert.equal(given[19], 19);
  assert.equal(given[20], 20);
  assert.equal(given[21], 42);
  assert.equal(given[22], 22);
  assert.equal(given[23], 43);
  assert.equal(given[4], "ignore");
});

for (const runner of ["deno", "binary"] as const) {
  serverTest(
    `nfs4 lock: COMMAND gets the descriptors nfs4 was given at their numbers, the client instance ` +
      `at the next free one (${runner})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const dir = mkdtempSync(join(tmpdir(), "nfs4-lock-given-"));
      const seven = join(dir, "seven");
      const nineteen = join(dir, "nineteen");
      const links = join(dir, "links");
      const fd7 = openSync(seven, "w");
      const fd19 = openSync(nineteen, "w");
      try {
        const stdio: ("ignore" | "pipe" | number)[] = ["ignore", "pipe", "pipe"];
        while (stdio.length < 20) stdio.push("ignore");
        stdio[7] = fd7;
        stdio[19] = fd19;
        const nfs4 = runner === "binary"
          ? [builtBinary()]
          : [Deno.execPath(), "run", "-A", "cli/main.ts"];
        const script = `echo seven >&7; echo nineteen >&19; ` +
          `for n in $(ls /proc/$$/fd); do echo "$n $(readlink /proc/$$/fd/$n)"; done > ${links}`;
        const child = spawn(nfs4[0]!, [...nfs4.slice(1), "lock", url, "--", "bash", "-c", script], {
          cwd: ROOT,
          stdio,
          env: { ...Deno.env.toObject(), NO_COLOR: "1" },
        });
        let stderr = "";
        child.stderr!.on("data", (chunk: Buffer) => stderr += chunk.toString());
        child.stdout!.resume();
        const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
        assert.equal(code, 0, stderr);
        assert.equal(readFileSync(seven, "utf8"), "seven\n");
        assert.equal(readFileSync(nineteen, "utf8"), "nineteen\n");
        const named = Object.fromEntries(
          readFileSync(links, "utf8").trim().split("\n").map((line) => line.split(" ")),
        );
        assert.equal(named["7"], seven);
        assert.equal(named["19"], nineteen);
        assert.match(named["20"] ?? "", /\/\d+\.lock$/, "the client instance's descriptor");
        // Nothing of nfs4's own: Bun duplicates a piped stdout or stderr at
        // its first write, and such a copy in COMMAND kept nfs4's pipe open
        // after it ended.
        for (const [fd, link] of Object.entries(named)) {
          if (fd !== "1") assert.notEqual(link, named["1"], `descriptor ${fd} is nfs4's stdout`);
          if (fd !== "2") assert.notEqual(link, named["2"], `descriptor ${fd} is nfs4's stderr`);
        }
      } finally {
        closeSync(fd7);
        closeSync(fd19);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}
