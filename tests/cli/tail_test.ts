/**
 * `nfs4 tail` against NFS-Ganesha on NFSv4.0 and NFSv4.1, compared byte
 * for byte with GNU tail run on the same files in the export's folder: a
 * table of options (-c N, -c +N, -n N, -n +N, multipliers, -z, -q/-v, the
 * last of -c/-n winning) over six files at once (headers) and alone; the
 * bytes READ for the end of a 64 MiB file (from `--trace=json,ops`);
 * `tail -f` on two files while they grow and one is truncated, side by side
 * with GNU `tail -f`, ended by SIGINT (exit 130, nothing left on the
 * server); `tail -F` across a replacement, a removal and a return; errors
 * (missing, a directory, `file/`, permission denied, bad numbers: exit 2,
 * `-f` with no file left).
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { serverTest } from "../_server.ts";
import {
  destroyClientIdStatus,
  exclusiveOpenStatus,
  nfs4,
  ROOT,
  traceClientId,
  traceEvents,
} from "./_spawn.ts";
import {
  assertBadCountsRefused,
  assertFailuresAsGnu,
  assertSameOutput,
  bytesRead,
  compareWithGnu,
  gnu,
  latin1,
  Running,
} from "./_head_tail.ts";

const VERSIONS = ["4.0", "4.1"] as const;

/** Options rows: each run on all the files at once, as nfs4 tail and as GNU tail. */
const ROWS: string[][] = [
  [],
  ["-c", "0"],
  ["-c", "1"],
  ["-c", "100"],
  ["-c", "1K"],
  ["-c", "2kB"],
  ["-c", "1MiB"],
  ["-c", "-5"],
  ["-c", "+0"],
  ["-c", "+1"],
  ["-c", "+2"],
  ["-c", "+100"],
  ["-c", "+1048577"],
  ["-c", "+2000000"],
  ["-n", "0"],
  ["-n", "1"],
  ["-n", "3"],
  ["-n", "-2"],
  ["-n", "2000"],
  ["-n", "1k"],
  ["-n", "+0"],
  ["-n", "+1"],
  ["-n", "+3"],
  ["-n", "+2000"],
  ["--lines=4"],
  ["--bytes=+7"],
  ["-n+2"],
  ["-z", "-n", "2"],
  ["-z", "-n", "+2"],
  ["-q", "-n", "2"],
  ["-c", "5", "-n", "2"],
  ["-n", "2", "-c", "5"],
  ["-v", "-q", "-c", "3"],
];

/** Rows run on one file alone (no headers unless -v). */
const SINGLE: [string[], string][] = [
  [["-n", "2"], "nonl"],
  [["-v", "-n", "1"], "text"],
  [["-n", "3"], "long"],
  [["-q", "-v", "-c", "10"], "binary"],
  [["-n", "0", "-v"], "text"],
];

/** `deno run -A cli/main.ts ARGS` left running. */
function runNfs4(args: string[]): Running {
  return new Running(Deno.execPath(), ["run", "-A", "cli/main.ts", ...args], ROOT);
}

const enc = new TextEncoder();

serverTest("nfs4 tail prints what GNU tail prints (table, 4.0 and 4.1)", async (server) => {
  await compareWithGnu(server, "tail", ROWS, SINGLE);
});

serverTest(
  "tail, head and cat --offset of a 64 MiB file READ only what they print",
  async (server) => {
    const dir = server.exportDir;
    const base = `${server.url}/vfs`;
    // 64 MiB of hole, then three short lines; and 20 MB of 100-byte lines.
    const sparse = `${dir}/sparse`;
    await fs.writeFile(sparse, "");
    await fs.truncate(sparse, 64 << 20);
    await fs.appendFile(sparse, "x\ny\nz\n");
    const line = "l".repeat(99) + "\n";
    await fs.writeFile(`${dir}/lines`, line.repeat(200_000));
    const size = 64 * 1024 * 1024 + 6;
    for (const vers of VERSIONS) {
      const rows: [string[], string, number][] = [
        [["tail", "-n", "2", `${base}/sparse`], "y\nz\n", 64 * 1024],
        [["tail", "-c", "4", `${base}/sparse`], "y\nz\n", 4],
        [["tail", "-c", "+67108865", `${base}/sparse`], "x\ny\nz\n", 6],
        [["head", "-c", "3", `${base}/lines`], "lll", 3],
        [["head", "-n", "1", `${base}/lines`], line, 64 * 1024],
        [["cat", "--offset", String(size - 4), "--length", "2", `${base}/sparse`], "y\n", 2],
      ];
      for (const [args, out, most] of rows) {
        const what = `${args.slice(0, -1).join(" ")} (${vers})`;
        const r = await nfs4(["--vers", vers, "--trace=json,ops", ...args]);
        assert.equal(r.code, 0, `${what}: ${r.stderr}`);
        assert.equal(r.stdout, out, what);
        const read = bytesRead(r.stderr);
        assert.ok(
          read >= out.length && read <= most,
          `${what}: ${read} bytes READ (at most ${most})`,
        );
      }
    }
  },
);

serverTest(
  "tail -f prints what two files get, says 'file truncated', ends on SIGINT",
  async (server) => {
    const dir = server.exportDir;
    const base = `${server.url}/vfs`;
    for (const vers of VERSIONS) {
      await fs.writeFile(`${dir}/log1`, "one\ntwo\n");
      await fs.writeFile(`${dir}/log2`, "alpha\n");
      const traceFile = `${server.dir}/tail-f-${vers}.jsonl`;
      const ours = runNfs4([
        "tail",
        "--vers",
        vers,
        "--trace=json",
        "--trace-file",
        traceFile,
        "-f",
        "-s",
        "0.2",
        `${base}/log1`,
        `${base}/log2`,
      ]);
      // GNU tail polling as we do (its hidden ---disable-inotify), on the same files.
      const theirs = new Running(
        "tail",
        ["---disable-inotify", "-f", "-s", "0.2", "log1", "log2"],
        dir,
      );
      const both = async (expected: string, what: string) => {
        const mine = () => latin1(ours.stdout).replaceAll(`==> ${base}/`, "==> ");
        await ours.until(() => mine() === expected, `nfs4 tail -f: ${what} (${vers})`);
        await theirs.until(() => latin1(theirs.stdout) === expected, `GNU tail -f: ${what}`);
      };
      try {
        let expected = "==> log1 <==\none\ntwo\n\n==> log2 <==\nalpha\n";
        await both(expected, "the last lines");
        // The open is held while following (-f follows the file opened).
        assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/log1"), "NFS4ERR_SHARE_DENIED");
        await fs.appendFile(`${dir}/log1`, "three\n");
        await both(expected += "\n==> log1 <==\nthree\n", "an append to log1");
        await fs.appendFile(`${dir}/log2`, "beta\n");
        await both(expected += "\n==> log2 <==\nbeta\n", "an append to log2");
        await fs.appendFile(`${dir}/log2`, "gamma\n");
        await both(expected += "gamma\n", "another append to log2");
        await fs.writeFile(`${dir}/log1`, "x\n");
        await both(expected += "\n==> log1 <==\nx\n", "log1 truncated and written");
        await ours.until(
          () => ours.stderr.includes(`nfs4: ${base}/log1: file truncated\n`),
          "the truncation said",
        );
        assert.match(theirs.stderr, /log1: file truncated/);
      } finally {
        await theirs.stop("SIGINT");
      }
      const end = await ours.stop("SIGINT");
      assert.equal(end.code, 130, ours.stderr);
      assert.ok(end.ms < 2500, `SIGINT to exit: ${end.ms} ms`);
      assert.equal(ours.stderr, `nfs4: ${base}/log1: file truncated\n`);
      // Nothing left on the server: the opens closed, the 4.1 client ID destroyed.
      for (const name of ["log1", "log2"]) {
        assert.equal(await exclusiveOpenStatus(server, vers, `/vfs/${name}`), "NFS4_OK", name);
      }
      const events = traceEvents(await fs.readFile(traceFile, "utf8"));
      if (vers === "4.1") {
        assert.equal(
          await destroyClientIdStatus(server, traceClientId(events)),
          "NFS4ERR_STALE_CLIENTID",
        );
      }
    }
  },
);

serverTest("tail -F follows the name: replaced, removed, back again", async (server) => {
  const dir = server.exportDir;
  const base = `${server.url}/vfs`;
  const url = `${base}/app.log`;
  for (const vers of VERSIONS) {
    await fs.writeFile(`${dir}/app.log`, "one\n");
    const ours = runNfs4(["tail", "--vers", vers, "-F", "-s", "0.2", url]);
    const theirs = new Running("tail", ["---disable-inotify", "-F", "-s", "0.2", "app.log"], dir);
    const both = async (expected: string, what: string) => {
      await ours.until(() => latin1(ours.stdout) === expected, `nfs4 tail -F: ${what} (${vers})`);
      await theirs.until(() => latin1(theirs.stdout) === expected, `GNU tail -F: ${what}`);
    };
    try {
      await both("one\n", "the last lines");
      await fs.writeFile(`${dir}/app.log.new`, "new\n");
      await fs.rename(`${dir}/app.log.new`, `${dir}/app.log`);
      await both("one\nnew\n", "a new file renamed over it");
      await fs.rm(`${dir}/app.log`);
      await ours.until(() => ours.stderr.includes("has become inaccessible"), "removed (nfs4)");
      await theirs.until(() => theirs.stderr.includes("has become inaccessible"), "removed (GNU)");
      await fs.writeFile(`${dir}/app.log`, enc.encode("back\n"));
      await both("one\nnew\nback\n", "created again");
      await fs.appendFile(`${dir}/app.log`, "more\n");
      await both("one\nnew\nback\nmore\n", "an append");
    } finally {
      await theirs.stop("SIGINT");
    }
    const end = await ours.stop("SIGINT");
    assert.equal(end.code, 130, ours.stderr);
    assert.deepEqual(ours.stderr.trimEnd().split("\n"), [
      `nfs4: '${url}' has been replaced;  following new file`,
      `nfs4: '${url}' has become inaccessible: No such file or directory (NFS4ERR_NOENT)`,
      `nfs4: '${url}' has appeared;  following new file`,
    ]);
    assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/app.log"), "NFS4_OK");
  }
});

serverTest(
  "tail -F: a look that fails for a while (ACCESS) keeps its place: the same file goes on where it was",
  async (server) => {
    const dir = server.exportDir;
    const url = `${server.url}/vfs/sub/app.log`;
    for (const vers of VERSIONS) {
      await fs.mkdir(`${dir}/sub`, { recursive: true });
      await fs.chmod(`${dir}/sub`, 0o755);
      await fs.writeFile(`${dir}/sub/app.log`, "one\n");
      await fs.chmod(`${dir}/sub/app.log`, 0o644);
      const ours = runNfs4([
        "tail",
        "--vers",
        vers,
        "--uid",
        "1000",
        "--gid",
        "1000",
        "-F",
        "-s",
        "0.2",
        url,
      ]);
      try {
        await ours.until(() => latin1(ours.stdout) === "one\n", `the last lines (${vers})`);
        await fs.chmod(`${dir}/sub`, 0o700); // uid 1000 may no longer look in
        await ours.until(() => ours.stderr.includes("has become inaccessible"), `denied (${vers})`);
        await fs.appendFile(`${dir}/sub/app.log`, "two\n");
        await fs.chmod(`${dir}/sub`, 0o755);
        await ours.until(() => ours.stderr.includes("has become accessible\n"), `back (${vers})`);
        await ours.until(() => latin1(ours.stdout) === "one\ntwo\n", `the append only (${vers})`);
      } finally {
        await fs.chmod(`${dir}/sub`, 0o755);
      }
      const end = await ours.stop("SIGINT");
      assert.equal(end.code, 130, ours.stderr);
      assert.equal(latin1(ours.stdout), "one\ntwo\n");
      assert.deepEqual(ours.stderr.trimEnd().split("\n"), [
        `nfs4: '${url}' has become inaccessible: Permission denied (NFS4ERR_ACCESS)`,
        `nfs4: '${url}' has become accessible`,
      ]);
      await fs.rm(`${dir}/sub`, { recursive: true });
    }
  },
);

serverTest(
  "nfs4 tail: missing files, directories, file/, permissions, bad numbers",
  async (server) => {
    const dir = server.exportDir;
    const base = `${server.url}/vfs`;
    await fs.writeFile(`${dir}/a`, "1\n2\n3\n");
    await fs.mkdir(`${dir}/d`);
    await fs.writeFile(`${dir}/secret`, "no\n");
    await fs.chmod(`${dir}/secret`, 0o600);
    for (const vers of VERSIONS) {
      await assertFailuresAsGnu("tail", vers, dir, base);
      // -f with nothing it could open: as GNU tail, "no files remaining", exit 1.
      const none = await nfs4(["tail", "--vers", vers, "-f", `${base}/nope`]);
      assert.equal(none.code, 1);
      assert.equal(
        none.stderr,
        `nfs4: ${base}/nope: No such file or directory (NFS4ERR_NOENT)\nnfs4: no files remaining\n`,
      );
    }
    // -n 0 / -c 0 without -f open nothing at all, as GNU tail (a missing file is no error).
    const zero = await nfs4(["tail", "-n", "0", `${base}/nope`, `${base}/a`]);
    assertSameOutput(zero, await gnu("tail", ["-n", "0", "nope", "a"], dir), base, "-n 0");
    assert.equal(zero.stderr, "");

    await assertBadCountsRefused(
      "tail",
      [["-c", "1x"], ["-n", ""], ["-c", "20E"], ["-n", "+-5"], ["-c", "--5"], ["-n", "1B"]],
      /^nfs4: option '-[cn], --(bytes|lines) <\[\+\]NUM>' argument '.*' is invalid\. /,
      dir,
      base,
    );
    const badInterval = await nfs4(["tail", "-f", "-s", "x", `${base}/a`]);
    assert.equal(badInterval.code, 2, badInterval.stderr);
  },
);

serverTest(
  "nfs4 tail -f: SIGHUP (its terminal closed) stops it as SIGTERM does: the file is closed (another client's exclusive open is granted) and it exits 129",
  async (server) => {
    await fs.writeFile(`${server.exportDir}/hup`, "line\n");
    for (const vers of ["4.0", "4.1"] as const) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "cli/main.ts", "--vers", vers, "tail", "-f", `${server.url}/vfs/hup`],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.getReader();
      const first = await reader.read();
      assert.equal(new TextDecoder().decode(first.value), "line\n");
      reader.releaseLock();
      child.kill("SIGHUP");
      const ended = await child.output();
      assert.equal(ended.code, 129, new TextDecoder().decode(ended.stderr));
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/hup"), "NFS4_OK");
    }
  },
);
