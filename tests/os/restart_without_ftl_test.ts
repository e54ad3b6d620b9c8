/**
 * The decision and the pure parts of lib/os/restart_without_ftl.ts; the
 * restart itself runs in the single binary only and is checked there
 * (tests/cli/binary_test.ts: a tree command restarts once, with its
 * arguments, environment and descriptors).
 */

import assert from "node:assert/strict";
import process from "node:process";
import {
  FTL_VARIABLE,
  mayRunLong,
  nulTerminated,
  parseRestartMarker,
  RESTART_MARKER,
  restartMarker,
  restartWithoutFtlIfLong,
} from "../../lib/os/restart_without_ftl.ts";

Deno.test("mayRunLong: commands that act on each file of a tree, and the shell", () => {
  for (
    const args of [
      ["cp", "-r", "a", "nfs://srv/vfs/b"],
      ["--trace", "--vers", "4.0", "cp", "-R", "a", "b"],
      ["cp", "-av", "a", "b"],
      ["cp", "--archive", "a", "b"],
      ["cp", "--recursive", "a", "b"],
      ["rm", "-rf", "nfs://srv/vfs/old"],
      ["rm", "-R", "x"],
      ["chmod", "-R", "u+w", "x"],
      ["chown", "-hR", "0:0", "x"],
      ["shell", "nfs://srv/vfs"],
    ]
  ) assert.equal(mayRunLong(args), true, args.join(" "));
});

Deno.test("mayRunLong: one file, listings, short commands, and what follows --", () => {
  for (
    const args of [
      [],
      ["--version"],
      ["cat", "nfs://srv/vfs/big"],
      ["cp", "nfs://srv/vfs/big", "."],
      ["cp", "-v", "a", "b"],
      ["ls", "-lR", "nfs://srv/vfs"],
      ["du", "-s", "nfs://srv/vfs"],
      ["find", "nfs://srv/vfs", "-name", "x"],
      ["rm", "-f", "x"],
      ["chmod", "u+w", "x"],
      ["lock", "nfs://srv/vfs/f", "--", "rm", "-r", "x"],
      ["cp", "--", "-r", "b"],
    ]
  ) assert.equal(mayRunLong(args), false, args.join(" "));
});

Deno.test("nulTerminated: /proc/self/cmdline's strings, empty ones and a last one without NUL kept", () => {
  const bytes = new Uint8Array([0x6e, 0, 0, 0xe9, 0x20, 0, 0x78]);
  assert.deepEqual(nulTerminated(bytes).map((entry) => [...entry]), [
    [0x6e, 0],
    [0],
    [0xe9, 0x20, 0],
    [0x78, 0],
  ]);
  assert.deepEqual(nulTerminated(new Uint8Array()), []);
});

Deno.test("a restart's marker holds the pid and the name, and nothing else parses", () => {
  const name = new TextEncoder().encode("nfs4");
  assert.equal(restartMarker(1234, name), "1234:6e667334");
  assert.deepEqual(parseRestartMarker("1234:6e667334"), { pid: 1234, comm: name });
  assert.deepEqual(parseRestartMarker("7:"), { pid: 7, comm: new Uint8Array() });
  for (const value of [undefined, "", "1", "x:6e", "12:6e6", "12:6E", `12:${"61".repeat(16)}`]) {
    assert.equal(parseRestartMarker(value), undefined, String(value));
  }
});

Deno.test("restarted, the process takes the restart's variables out of its environment again; another's marker is left alone", () => {
  const before = { ...process.env };
  try {
    // A marker that names another process: not this one's restart.
    process.env[FTL_VARIABLE] = "1";
    process.env[RESTART_MARKER] = restartMarker(process.pid + 1, new Uint8Array([0x6e]));
    restartWithoutFtlIfLong(["cp", "-r", "a", "b"]);
    assert.equal(process.env[FTL_VARIABLE], "1");
    assert.notEqual(process.env[RESTART_MARKER], undefined);
    // This process's: both go (from Deno.env too, what a child would get).
    process.env[FTL_VARIABLE] = "0";
    process.env[RESTART_MARKER] = restartMarker(process.pid, new Uint8Array([0x6e]));
    restartWithoutFtlIfLong(["cp", "-r", "a", "b"]);
    assert.equal(process.env[FTL_VARIABLE], undefined);
    assert.equal(process.env[RESTART_MARKER], undefined);
    assert.equal(Deno.env.get(FTL_VARIABLE), undefined);
    // Outside the single binary nothing restarts.
    restartWithoutFtlIfLong(["cp", "-r", "a", "b"]);
  } finally {
    for (const name of [FTL_VARIABLE, RESTART_MARKER]) {
      if (name in before) process.env[name] = before[name];
      else delete process.env[name];
    }
  }
});
