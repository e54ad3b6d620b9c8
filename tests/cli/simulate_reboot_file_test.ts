/**
 * `nfs4 simulate-reboot` and the file it writes its markers into, against
 * Ganesha on NFSv4.0 and NFSv4.1 (the test reads the export's backing
 * folder directly): the drill never changes a byte of a file it did not
 * create unless told to.
 *
 * - an existing non-empty file is refused (exit 2, one line, not a byte
 *   changed); `--force` runs on it and changes only the marker bytes;
 * - a directory gets a `.nfs4-drill-XXXXXX` of the drill's own, created
 *   with GUARDED4 (checked on the wire) and removed, even after a server
 *   reboot (REMOVE waits for the grace period to end);
 * - a new file name is created and removed;
 * - an existing empty file is used, and is still there (the same inode) and
 *   empty afterwards;
 * - SIGINT and SIGTERM stop the drill: its file is removed, exit 130/143.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasTshark, startCapture } from "../_tshark.ts";
import type { TestServer } from "../_server.ts";
import { nfs4, startNfs4 } from "./_lock.ts";
import { drillResult, drillTest, restartCommand, runDrill } from "./_simulate_reboot.ts";

const DRILL_NAME = /^\.nfs4-drill-[A-Za-z0-9]{6}$/;

function sha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** Every name under `dir`, recursively, sorted (`sub/x`). */
function listing(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** Bytes 0..n-1 of a deterministic pattern. */
function pattern(n: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * 7 + 3) % 251);
}

function refusal(url: string): string {
  return `nfs4: ${url}: refusing to run the drill on an existing non-empty file (it would ` +
    `overwrite its bytes); name a directory, a new file, or use --force\n`;
}

/** The createmode4 of every OPEN that creates, in a capture (1 is GUARDED4). */
function createModes(file: string, server: TestServer): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile(
      "tshark",
      [
        "-n",
        "-r",
        file,
        "-d",
        `tcp.port==${server.port},rpc`,
        "-Y",
        "rpc.msgtyp == 0 && nfs.createmode4",
        "-T",
        "fields",
        "-e",
        "nfs.createmode4",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
      ],
      (error, stdout, stderr) => {
        if (error) return reject(new Error(stderr || String(error)));
        resolve(stdout.split(/[\n,]/).filter((t) => t !== "").map(Number));
      },
    );
  });
}

for (const vers of ["4.0", "4.1"] as const) {
  drillTest(
    `simulate-reboot refuses an existing non-empty file: exit 2, one line, not a byte changed; --force runs on it (NFSv${vers})`,
    async (server) => {
      const onDisk = join(server.exportDir, "data.bin");
      const original = pattern(1000);
      writeFileSync(onDisk, original);
      const hash = sha256(onDisk);
      const url = `${server.url}/vfs/data.bin`;
      for (
        const args of [
          ["--restart-cmd", restartCommand(server)],
          ["--client", "--json"],
          ["--range", "100:50", "--fail-reclaim", "lock"],
        ]
      ) {
        const r = await nfs4(["--vers", vers, "simulate-reboot", ...args, url]);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.equal(r.stderr, refusal(url));
        assert.equal(r.stdout, "");
        assert.equal(sha256(onDisk), hash, "not a byte changed");
      }
      // Through a symlink too: the file it names is what counts.
      const link = `${server.url}/vfs/link`;
      Deno.symlinkSync("data.bin", join(server.exportDir, "link"));
      const viaLink = await nfs4(["--vers", vers, "simulate-reboot", "--client", link]);
      assert.equal(viaLink.code, 2, viaLink.stderr);
      assert.equal(viaLink.stderr, refusal(link));
      assert.equal(sha256(onDisk), hash);

      // --force: the drill runs; only its marker (37 bytes at the range) changed.
      const { code, report, stderr } = await runDrill(
        server,
        vers,
        ["--force", "--client", "--range", "100:50"],
        "data.bin",
      );
      assert.equal(code, 0, `${report.verdict}\n${stderr.slice(-2000)}`);
      assert.equal(report.result, "recovered");
      assert.deepEqual(report.file, {
        url,
        path: "/vfs/data.bin",
        origin: "forced",
        created: false,
        removed: false,
        truncated: false,
        written: "100-136",
        cleanupError: null,
      });
      const after = new Uint8Array(readFileSync(onDisk));
      assert.equal(after.length, 1000, "the size is unchanged");
      assert.equal(new TextDecoder().decode(after.subarray(100, 137)), report.setup.marker);
      // --json: the marker's byte offset is a number (cli/json_values.ts rule 2), not "100".
      assert.equal(report.setup.markerOffset, 100);
      assert.deepEqual(after.subarray(0, 100), original.subarray(0, 100));
      assert.deepEqual(after.subarray(137), original.subarray(137));
    },
  );

  drillTest(
    `simulate-reboot on a directory: a GUARDED4 drill file of its own, gone after a server reboot (NFSv${vers})`,
    async (server) => {
      mkdirSync(join(server.exportDir, "sub"));
      writeFileSync(join(server.exportDir, "sub", "keep.txt"), "not the drill's\n");
      writeFileSync(join(server.exportDir, "top.txt"), "nor this\n");
      const before = listing(server.exportDir);
      const hashes = ["top.txt", "sub/keep.txt"].map((f) => sha256(join(server.exportDir, f)));
      // 4.0: the export, with a trailing slash; 4.1: a directory below it, without.
      const name = vers === "4.0" ? "" : "sub";
      const dirUrl = `${server.url}/vfs/${name}`;
      const capture = hasTshark ? await startCapture(server.port) : undefined;
      let run;
      try {
        run = await runDrill(server, vers, ["--restart-cmd", restartCommand(server)], name);
      } finally {
        await capture?.stop();
      }
      const { code, report, events, stderr } = run;
      assert.equal(code, 0, `${report.verdict}\n${stderr.slice(-2000)}`);
      assert.equal(report.result, "recovered");
      assert.equal(report.url, dirUrl.replace(/\/$/, ""));
      const file = report.file!;
      assert.equal(file.origin, "directory");
      assert.equal(file.created, true);
      assert.equal(file.removed, true, String(file.cleanupError));
      assert.equal(file.cleanupError, null);
      assert.equal(file.written, "0-72", "both markers, in the drill's own file");
      const fileName = file.path.split("/").at(-1)!;
      assert.match(fileName, DRILL_NAME);
      assert.equal(file.path, `/vfs/${name === "" ? "" : "sub/"}${fileName}`);
      assert.equal(file.url, `${server.url}${file.path}`);
      // The drill held its state on that file, and reclaimed it there.
      assert.equal(report.setup.path, file.path);
      assert.ok(
        events.some((e) =>
          e.event === "OPEN(CLAIM_PREVIOUS) reclaimed" && e.detail?.includes(file.path)
        ),
      );
      // Nothing left behind, nothing else touched.
      assert.deepEqual(listing(server.exportDir), before);
      assert.deepEqual(
        ["top.txt", "sub/keep.txt"].map((f) => sha256(join(server.exportDir, f))),
        hashes,
      );
      // Created exclusively: every creating OPEN on the wire is GUARDED4.
      if (capture) {
        const modes = await createModes(capture.file, server);
        assert.ok(modes.length >= 1, "a creating OPEN on the wire");
        assert.deepEqual(modes.filter((m) => m !== 1), [], `createmode ${modes} (1 is GUARDED4)`);
      }
    },
  );

  drillTest(
    `simulate-reboot on a new file name: created, then removed (NFSv${vers})`,
    async (server) => {
      const onDisk = join(server.exportDir, "fresh");
      const before = listing(server.exportDir);
      const { code, report, stderr } = await runDrill(server, vers, ["--client"], "fresh");
      assert.equal(code, 0, `${report.verdict}\n${stderr.slice(-2000)}`);
      assert.deepEqual(report.file, {
        url: `${server.url}/vfs/fresh`,
        path: "/vfs/fresh",
        origin: "new",
        created: true,
        removed: true,
        truncated: false,
        written: "0-36",
        cleanupError: null,
      });
      assert.equal(report.setup.created, true);
      assert.equal(existsSync(onDisk), false);
      assert.deepEqual(listing(server.exportDir), before);
    },
  );

  drillTest(
    `simulate-reboot on an existing empty file: used, then still there and empty (NFSv${vers})`,
    async (server) => {
      const onDisk = join(server.exportDir, "empty");
      writeFileSync(onDisk, "");
      const inode = statSync(onDisk).ino;
      const { code, report, stderr } = await runDrill(
        server,
        vers,
        ["--restart-cmd", restartCommand(server)],
        "empty",
      );
      assert.equal(code, 0, `${report.verdict}\n${stderr.slice(-2000)}`);
      assert.equal(report.result, "recovered");
      assert.deepEqual(report.file, {
        url: `${server.url}/vfs/empty`,
        path: "/vfs/empty",
        origin: "empty",
        created: false,
        removed: false,
        truncated: true,
        written: "0-72",
        cleanupError: null,
      });
      // The markers were there during the drill (read back through the reclaimed open).
      assert.match(
        report.checks.find((c) => c.name === "WRITE after the reboot")?.detail ?? "",
        /both markers read back/,
      );
      const after = statSync(onDisk);
      assert.equal(after.size, 0, "empty again");
      assert.equal(after.ino, inode, "the same file, never removed and created anew");
    },
  );

  const signal = vers === "4.0" ? "SIGTERM" : "SIGINT";
  drillTest(
    `simulate-reboot stopped by ${signal} removes its file and exits ${
      signal === "SIGINT" ? 130 : 143
    } (NFSv${vers})`,
    async (server) => {
      const before = listing(server.exportDir);
      const url = `${server.url}/vfs`;
      // A "restart" that never ends: the drill is stopped while it runs.
      const drill = startNfs4([
        "--vers",
        vers,
        "simulate-reboot",
        "--restart-cmd",
        "sleep 60",
        url,
      ]);
      await drill.waitFor("stdout", /^restart: \/bin\/sh -c 'sleep 60'$/m, 30_000);
      const during = listing(server.exportDir).filter((n) => !before.includes(n));
      assert.equal(during.length, 1, `one file of the drill's own: ${during}`);
      assert.match(during[0]!, DRILL_NAME);
      const fileUrl = `${url}/${during[0]}`;
      drill.kill(signal);
      const ended = await drill.done;
      assert.equal(ended.code, signal === "SIGINT" ? 130 : 143, ended.stdout + ended.stderr);
      assert.ok(ended.ms < 20_000, `${ended.ms} ms`);
      const out = ended.stdout.trimEnd().split("\n");
      assert.equal(out.at(-1), `interrupted by ${signal}: the drill was stopped before its end`);
      assert.equal(out.at(-2), `file: removed ${fileUrl}`);
      assert.doesNotMatch(ended.stderr, /^nfs4: /m);
      assert.deepEqual(listing(server.exportDir), before);

      // --json says the same.
      const json = startNfs4([
        "--vers",
        vers,
        "simulate-reboot",
        "--json",
        "--restart-cmd",
        "sleep 60",
        `${url}/named`,
      ]);
      const deadline = Date.now() + 30_000;
      while (!existsSync(join(server.exportDir, "named"))) {
        assert.ok(Date.now() < deadline, "the drill created its file");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Past the setup (the marker written) before the signal.
      while (statSync(join(server.exportDir, "named")).size === 0) {
        assert.ok(Date.now() < deadline, "the drill wrote its marker");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      json.kill(signal);
      const { code, report } = drillResult(await json.done);
      assert.equal(code, signal === "SIGINT" ? 130 : 143);
      assert.equal(report.result, "interrupted");
      assert.equal(report.file?.origin, "new");
      assert.equal(report.file?.removed, true, String(report.file?.cleanupError));
      assert.equal(existsSync(join(server.exportDir, "named")), false);
    },
  );
}
