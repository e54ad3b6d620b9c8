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
  RESTART_MARKER,
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

Deno.test("restarted, the process takes the restart's variables out of its environment again", () => {
  const before = { ...process.env };
  try {
    process.env[FTL_VARIABLE] = "0";
    process.env[RESTART_MARKER] = "1";
    restartWithoutFtlIfLong(["cp", "-r", "a", "b"]);
    assert.equal(process.env[FTL_VARIABLE], undefined);
    assert.equal(process.env[RESTART_MARKER], undefined);
    // Outside the single binary nothing restarts, and a variable the user set stays.
    process.env[FTL_VARIABLE] = "1";
    restartWithoutFtlIfLong(["cp", "-r", "a", "b"]);
    assert.equal(process.env[FTL_VARIABLE], "1");
  } finally {
    for (const name of [FTL_VARIABLE, RESTART_MARKER]) {
      if (name in before) process.env[name] = before[name];
      else delete process.env[name];
    }
  }
});
