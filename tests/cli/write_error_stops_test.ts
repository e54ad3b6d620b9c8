/**
 * A stdout that fails otherwise than by its reader going away (`>
 * /dev/full`) ends every command at its first failed write, as the README
 * ("Exit codes") says and coreutils does: one line, `nfs4: write error: No
 * space left on device`, exit 1. It is no failure of the URL being printed,
 * so a command over several URLs does not go on to the next (each failing
 * the same way, one line each), and `tail -f`/`-F` does not take it for
 * the file being inaccessible and look it up, print it and fail again at
 * every interval, for ever.
 *
 * And `cp - URL < DIR` fails as read(2) does on a directory, naming the
 * operand as typed (`nfs4: -: Is a directory`, as coreutils' cat), under
 * Deno (whose process.stdin read the directory as empty and replaced the
 * destination with an empty file) as under Bun, the single binary's runtime
 * (which printed `nfs4: EISDIR: illegal operation on a directory, fstat`).
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { serverTest } from "../_server.ts";
import { messageLines, ROOT, traceEvents } from "./_spawn.ts";

const FULL = "nfs4: write error: No space left on device";
const bun = `${ROOT}.tools/bun/node_modules/.bin/bun`;
const noFull = !existsSync("/dev/full");

/** The runtime and its arguments that run cli/main.ts. */
function runtime(which: "deno" | "bun"): string[] {
  return which === "deno" ? [Deno.execPath(), "run", "-A", "cli/main.ts"] : [bun, "cli/main.ts"];
}

/**
 * Starts `nfs4 ...args` (through `sh -c 'exec "$@" REDIRECTIONS'`, so the
 * child is nfs4 itself) with stderr piped.
 */
function start(redirections: string, args: readonly string[], which: "deno" | "bun" = "deno") {
  return new Deno.Command("sh", {
    args: ["-c", `exec "$@" ${redirections}`, "sh", ...runtime(which), ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}

/**
 * Kills `child` after a long while: only a guard, so that a command that
 * would never end (the bug) fails its assertions instead of hanging the
 * test run; nothing is asserted of the time taken.
 */
function guard(child: Deno.ChildProcess): () => void {
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // ended meanwhile
    }
  }, 120_000);
  return () => clearTimeout(timer);
}

/** Runs `nfs4 ...args > /dev/full` to its end: exit code and stderr. */
async function intoFull(
  args: readonly string[],
): Promise<{ code: number; stderr: string }> {
  const child = start("> /dev/full", args);
  const stopGuard = guard(child);
  try {
    const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
    return { code: status.code, stderr };
  } finally {
    stopGuard();
  }
}

serverTest(
  "head, tail, stat, find, ls, du over three URLs > /dev/full: one write error line, exit 1, nothing read after it (README Exit codes)",
  async (server) => {
    const exportDir = server.exportDir;
    for (const name of ["a", "b", "c"]) {
      await Deno.writeTextFile(`${exportDir}/${name}`, `${name}\n`);
    }
    for (const dir of ["d1", "d2", "d3"]) {
      await Deno.mkdir(`${exportDir}/${dir}/sub`, { recursive: true });
      await Deno.writeTextFile(`${exportDir}/${dir}/sub/f`, "f\n");
    }
    const url = (name: string) => `${server.url}/vfs/${name}`;
    const files = ["a", "b", "c"].map(url);
    const dirs = ["d1", "d2", "d3"].map(url);
    const cases: string[][] = [
      ["head", ...files],
      ["head", "-c", "1", ...files],
      ["tail", ...files],
      ["tail", "-n", "1", ...files],
      ["stat", ...files],
      ["stat", "-c", "%n", ...files],
      ["find", ...dirs],
      ["ls", ...dirs],
      ["ls", "-l", ...files],
      ["du", "-a", ...dirs],
      // -f silences failures of the files, not of stdout (change_walk.ts reportFailure).
      ["chmod", "-f", "-v", "644", ...files],
    ];
    for (const vers of ["4.0", "4.1"]) {
      for (const args of cases) {
        const trace = await Deno.makeTempFile({ dir: server.dir, suffix: ".json" });
        const r = await intoFull(["--vers", vers, "--trace=json", "--trace-file", trace, ...args]);
        const what = `${vers} ${args[0]} ${args[1]}`;
        assert.equal(r.code, 1, `${what}: ${r.stderr}`);
        assert.deepEqual(messageLines(r.stderr), [FULL], what);
        if (args[0] === "head" || args[0] === "tail") {
          // The first file's write failed: the others are never opened.
          const opened = traceEvents(await Deno.readTextFile(trace))
            .filter((e) => e.cat === "open" && e.event === "OPEN")
            .map((e) => String(e.path));
          assert.deepEqual(opened, ["/vfs/a"], what);
        }
      }
    }
  },
  { ignore: noFull },
);

serverTest(
  "tail -f and tail -F > /dev/full end by themselves at the failed write: one line, exit 1 (no retry of the file, no 'no files remaining')",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/log`, "one\ntwo\n");
    await Deno.writeTextFile(`${server.exportDir}/other`, "three\n");
    const log = `${server.url}/vfs/log`;
    const other = `${server.url}/vfs/other`;
    for (const vers of ["4.0", "4.1"]) {
      for (
        const args of [
          ["tail", "-f", "-s", "0.1", log],
          ["tail", "-F", "-s", "0.1", log],
          ["tail", "-F", "-s", "0.1", log, other],
          ["tail", "-f", "--retry", "-s", "0.1", log],
        ]
      ) {
        const r = await intoFull(["--vers", vers, ...args]);
        const what = `${vers} ${args.join(" ")}`;
        assert.equal(r.code, 1, `${what}: ${r.stderr}`);
        assert.equal(r.stderr, `${FULL}\n`, what);
      }
    }
  },
  { ignore: noFull },
);

serverTest(
  "tail -F / -f --retry > /dev/full on a file that appears later: the write to print it fails once, the command ends, exit 1 (it was taken for the file being inaccessible, and tried again for ever)",
  async (server) => {
    for (const vers of ["4.0", "4.1"]) {
      for (const follow of [["-F"], ["-f", "--retry"]]) {
        const name = `late-${vers}-${follow.length}`;
        const url = `${server.url}/vfs/${name}`;
        const child = start("> /dev/full", ["--vers", vers, "tail", ...follow, "-s", "0.1", url]);
        const stopGuard = guard(child);
        try {
          // Once the missing file has been said, tail is following: the
          // file appears then, and its first write fails.
          const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
          let stderr = "";
          while (!stderr.includes("\n")) {
            const { value, done } = await reader.read();
            if (done) break;
            stderr += value;
          }
          await Deno.writeTextFile(`${server.exportDir}/${name}`, "appeared\n");
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            stderr += value;
          }
          const status = await child.status;
          const what = `${vers} tail ${follow.join(" ")}`;
          assert.equal(status.code, 1, `${what}: ${stderr}`);
          assert.deepEqual(messageLines(stderr), [
            `nfs4: ${url}: No such file or directory (NFS4ERR_NOENT)`,
            `nfs4: '${url}' has appeared;  following new file`,
            FULL,
          ], what);
        } finally {
          stopGuard();
        }
      }
    }
  },
  { ignore: noFull },
);

serverTest(
  "cp - URL < DIR: 'nfs4: -: Is a directory', exit 1, the destination neither created nor changed, under Deno and Bun",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/keep`, "important data\n");
    const stdinDir = await Deno.makeTempDir({ dir: server.dir });
    const runtimes: ("deno" | "bun")[] = existsSync(bun) ? ["deno", "bun"] : ["deno"];
    for (const which of runtimes) {
      for (const name of [`new-${which}`, "keep"]) {
        const child = start(`< '${stdinDir}'`, ["cp", "-", `${server.url}/vfs/${name}`], which);
        const stopGuard = guard(child);
        try {
          const [status, stderr] = await Promise.all([
            child.status,
            new Response(child.stderr).text(),
          ]);
          assert.equal(status.code, 1, `${which} ${name}: ${stderr}`);
          assert.equal(stderr, "nfs4: -: Is a directory\n", `${which} ${name}`);
        } finally {
          stopGuard();
        }
      }
      assert.ok(!existsSync(`${server.exportDir}/new-${which}`), `${which}: no destination made`);
      assert.equal(await Deno.readTextFile(`${server.exportDir}/keep`), "important data\n", which);
      const left = [...Deno.readDirSync(server.exportDir)].filter((e) => e.name.includes(".nfs4-"));
      assert.deepEqual(left, [], `${which}: no temporary left`);
    }
  },
);

serverTest(
  "mv -v and renew-watch > /dev/full: their lines, written without waiting, failed: one write error line at the end, exit 1, not 0 with nothing said (README Exit codes)",
  async (server) => {
    const dir = await Deno.makeTempDir({ prefix: "nfs4-full-" });
    try {
      await Deno.mkdir(`${server.exportDir}/into`);
      for (const vers of ["4.0", "4.1"]) {
        const local = `${dir}/m${vers}`;
        await Deno.writeTextFile(local, "moved\n");
        const moved = await intoFull([
          "--vers",
          vers,
          "mv",
          "-v",
          local,
          `${server.url}/vfs/into/`,
        ]);
        assert.equal(moved.code, 1, `${vers} mv: ${moved.stderr}`);
        assert.deepEqual(messageLines(moved.stderr), [FULL], `${vers} mv`);
        // The move itself was done (the line is what failed).
        assert.equal(await Deno.readTextFile(`${server.exportDir}/into/m${vers}`), "moved\n");
        const watched = await intoFull([
          "--vers",
          vers,
          "renew-watch",
          "--duration",
          "1",
          `${server.url}/vfs`,
        ]);
        assert.equal(watched.code, 1, `${vers} renew-watch: ${watched.stderr}`);
        assert.deepEqual(messageLines(watched.stderr), [FULL], `${vers} renew-watch`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
  { ignore: noFull },
);
