/**
 * `nfs4 lock` with bad input: usage errors (exit 2) before anything is sent,
 * and files it cannot lock (exit 1, one line naming the URL and the NFS
 * status) against Ganesha.
 */

import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4 } from "./_lock.ts";

const URL = "nfs://127.0.0.1:9/vfs/f";

Deno.test("nfs4 lock rejects bad ranges and options with exit 2 before connecting", async () => {
  const rangeError = (value: string, why: string) =>
    `nfs4: option '--range <offset[:length]>' argument '${value}' is invalid. ${why}\n`;
  const cases: [string[], string][] = [
    [["--range", "x"], rangeError("x", "Expected OFFSET[:LENGTH], decimal byte counts")],
    [["--range", "-5"], rangeError("-5", "Expected OFFSET[:LENGTH], decimal byte counts")],
    [["--range", "5:"], rangeError("5:", "Expected OFFSET[:LENGTH], decimal byte counts")],
    [["--range", "1:2:3"], rangeError("1:2:3", "Expected OFFSET[:LENGTH], decimal byte counts")],
    [["--range", "0x10"], rangeError("0x10", "Expected OFFSET[:LENGTH], decimal byte counts")],
    [
      ["--range", "18446744073709551616"],
      rangeError("18446744073709551616", "OFFSET is more than 18446744073709551615"),
    ],
    [
      ["--range", "18446744073709551615:2"],
      rangeError(
        "18446744073709551615:2",
        "OFFSET+LENGTH is more than 2^64 (18446744073709551616)",
      ),
    ],
    [
      ["-s", "-x"],
      "nfs4: option '-s, --shared' cannot be used with option '-x, --exclusive'\n",
    ],
    [
      ["-n", "-w", "3"],
      "nfs4: option '-n, --nonblock' cannot be used with option '-w, --wait <seconds>'\n",
    ],
    [
      ["-w", "soon"],
      "nfs4: option '-w, --wait <seconds>' argument 'soon' is invalid. " +
      "Expected a number of seconds from 0 to 31536000\n",
    ],
    [
      ["-E", "256"],
      "nfs4: option '-E, --conflict-exit-code <code>' argument '256' is invalid. " +
      "Expected an exit status from 0 to 255\n",
    ],
    [["--test", URL, "--", "true"], "nfs4: --test takes no command\n"],
    [
      [URL, "sort", "-n", "file"],
      "nfs4: -n: option after the command; put -- before the command " +
      "(nfs4 lock [options] URL -- COMMAND [ARGS...])\n",
    ],
    [
      [URL, "ssh", "host", "--timeout", "5"],
      "nfs4: --timeout: option after the command; put -- before the command " +
      "(nfs4 lock [options] URL -- COMMAND [ARGS...])\n",
    ],
    [["ftp://x/f"], "nfs4: ftp://x/f: not an nfs:// URL (expected nfs://HOST[:PORT]/PATH)\n"],
    [[], "nfs4: missing required argument 'url'\n"],
  ];
  for (const [args, message] of cases) {
    const withUrl = args.some((a) => a.includes("://")) || args.length === 0
      ? args
      : [...args, URL];
    const r = await nfs4(["lock", ...withUrl]);
    assert.equal(r.stderr, message, args.join(" "));
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
  }
});

Deno.test("nfs4 lock --help documents the lock line, waiting and exit statuses", async () => {
  const r = await nfs4(["lock", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: nfs4 lock \[options\] <url> \[--\] \[command \[args\.\.\.\]\]/);
  assert.match(
    r.stdout,
    /nfs4: holding exclusive lock on nfs:\/\/srv\/vfs\/f bytes 0- \(lock owner/,
  );
  assert.match(r.stdout, /READW_LT\/WRITEW_LT/);
  assert.match(r.stdout, /Exit status:/);
  assert.match(r.stdout, /Examples:\n {2}\$ nfs4 lock /);
});

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock: a directory, a file in a missing directory and a file the uid may not open fail clearly (NFSv${vers})`,
    async (server) => {
      mkdirSync(join(server.exportDir, "dir"));
      writeFileSync(join(server.exportDir, "ro"), "root's, 0644\n");
      chmodSync(join(server.exportDir, "ro"), 0o644);
      writeFileSync(join(server.exportDir, "secret"), "root's, 0600\n");
      chmodSync(join(server.exportDir, "secret"), 0o600);
      const base = `${server.url}/vfs`;

      const cases: [string[], string][] = [
        [["lock", `${base}/dir`, "--", "true"], `${base}/dir: Is a directory (NFS4ERR_ISDIR)`],
        [["lock", "--test", `${base}/dir`], `${base}/dir: Is a directory (NFS4ERR_ISDIR)`],
        // A missing lock file is made (below), not a missing directory.
        [
          ["lock", `${base}/nodir/missing`, "--", "true"],
          // The create's walk names the directory that is missing.
          `${base}/nodir: No such file or directory (NFS4ERR_NOENT)`,
        ],
        [
          ["lock", "--test", `${base}/missing`],
          `${base}/missing: No such file or directory (NFS4ERR_NOENT)`,
        ],
        // An exclusive lock needs the file open for writing.
        [
          ["--uid", "65534", "--gid", "65534", "lock", `${base}/ro`, "--", "true"],
          `${base}/ro: Permission denied (NFS4ERR_ACCESS)`,
        ],
        [
          ["--uid", "65534", "--gid", "65534", "lock", "-s", `${base}/secret`, "--", "true"],
          `${base}/secret: Permission denied (NFS4ERR_ACCESS)`,
        ],
      ];
      for (const [args, message] of cases) {
        const r = await nfs4([...v, ...args]);
        assert.equal(r.stderr, `nfs4: ${message}\n`, args.join(" "));
        assert.equal(r.code, 1, args.join(" "));
        assert.equal(r.stdout, "", "COMMAND did not run");
      }
      // A shared lock needs only read access.
      const shared = await nfs4([
        ...v,
        "--uid",
        "65534",
        "--gid",
        "65534",
        "lock",
        "-s",
        `${base}/ro`,
        "--",
        "echo",
        "shared",
      ]);
      assert.equal(shared.code, 0, shared.stderr);
      assert.equal(shared.stdout, "shared\n");
    },
  );
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 lock makes a missing lock file, as flock(1) does (mode 0666 less the umask), and leaves an existing one as it is; --test does not (NFSv${vers})`,
    async (server) => {
      const base = `${server.url}/vfs`;
      const made = join(server.exportDir, "job.lock");
      const r = await nfs4(["--vers", vers, "lock", `${base}/job.lock`, "--", "echo", "held"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "held\n");
      assert.equal(statSync(made).size, 0);
      assert.equal(statSync(made).mode & 0o777, 0o666 & ~Deno.umask());
      // An existing one keeps its content and mode.
      writeFileSync(made, "pid 42\n");
      chmodSync(made, 0o600);
      const again = await nfs4(["--vers", vers, "lock", `${base}/job.lock`, "--", "true"]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(readFileSync(made, "utf8"), "pid 42\n");
      assert.equal(statSync(made).mode & 0o777, 0o600);
      // --test asks only: nothing made.
      const test = await nfs4(["--vers", vers, "lock", "--test", `${base}/other.lock`]);
      assert.equal(test.code, 1);
      assert.equal(existsSync(join(server.exportDir, "other.lock")), false);
    },
  );
}
