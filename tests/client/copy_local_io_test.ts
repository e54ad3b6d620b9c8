/**
 * lib/client/copy/local_side.ts's local reads and writes: regular files on
 * local file systems are read and written in place, everything else through
 * the thread pool, and either way the bytes, holes and failures come out the
 * same.
 */

import assert from "node:assert/strict";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { open } from "node:fs/promises";
import {
  createForWriting,
  handleFile,
  LocalSide,
  LocalWriter,
  onLocalFileSystem,
  type WritableFile,
} from "../../lib/client/copy/local_side.ts";
import { LocalFileError } from "../../lib/client/copy/options.ts";
import { libc } from "../../lib/os/libc.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function withDir(dirBase: string, fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(dirBase, "nfs4-local-writer-"));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

Deno.test("onLocalFileSystem: a regular file on tmpfs or the temporary directory, not a FIFO or a device", () => {
  for (const base of ["/dev/shm", tmpdir()]) {
    const dir = mkdtempSync(join(base, "nfs4-local-writer-"));
    try {
      const fd = openSync(join(dir, "f"), "w");
      try {
        assert.ok(onLocalFileSystem(fd), `a file in ${base}`);
      } finally {
        closeSync(fd);
      }
      const fifo = join(dir, "fifo");
      const made = new Deno.Command("mkfifo", { args: [fifo] }).outputSync();
      assert.equal(made.code, 0);
      const fifoFd = openSync(fifo, "r+"); // O_RDWR: does not wait for a writer
      try {
        assert.ok(!onLocalFileSystem(fifoFd), "a FIFO");
      } finally {
        closeSync(fifoFd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const device = openSync("/dev/null", "w"); // devtmpfs has tmpfs's magic
  try {
    assert.ok(!onLocalFileSystem(device), "/dev/null");
  } finally {
    closeSync(device);
  }
  const proc = openSync("/proc/self/status", "r");
  try {
    assert.ok(!onLocalFileSystem(proc), "procfs");
  } finally {
    closeSync(proc);
  }
  assert.ok(!onLocalFileSystem(-1), "no such descriptor");
});

/** The three ways a local file is written (libc's where libc can be called, as in CI). */
const WAYS: { name: string; create(path: string): Promise<WritableFile> }[] = [
  {
    name: "through libc",
    async create(path) {
      const file = await createForWriting(path);
      assert.equal(file.how, "libc", "a new file on a local file system is libc's");
      return file;
    },
  },
  { name: "in place", create: async (path) => handleFile(await open(path, "wx"), true) },
  {
    name: "through the thread pool",
    create: async (path) => handleFile(await open(path, "wx"), false),
  },
];

for (const way of WAYS) {
  const how = way.name;
  const inPlace = way.name !== "through the thread pool";

  Deno.test(
    `the writer writes data, holes and a trailing hole ${how}`,
    withDir("/dev/shm", async (dir) => {
      const path = join(dir, "out");
      const writer = new LocalWriter(await way.create(path), path, 1 << 20);
      const released: number[] = [];
      const first = new Uint8Array(3000).fill(1);
      const second = new Uint8Array(5000).fill(2);
      await writer.write(first, () => released.push(1));
      await writer.hole(8192);
      await writer.write(second, () => released.push(2));
      if (inPlace) assert.deepEqual(released, [1, 2], "released as soon as written");
      await writer.hole(100);
      await writer.finish({ mode: 0o640 }, BigInt(3000 + 8192 + 5000 + 100));
      assert.deepEqual(released, [1, 2]);
      const data = readFileSync(path);
      assert.equal(data.length, 3000 + 8192 + 5000 + 100);
      assert.ok(data.subarray(0, 3000).every((b) => b === 1));
      assert.ok(data.subarray(3000, 3000 + 8192).every((b) => b === 0));
      assert.ok(data.subarray(11192, 16192).every((b) => b === 2));
      assert.ok(data.subarray(16192).every((b) => b === 0));
    }),
  );

  Deno.test({
    name: `a failing write ${how} names the file and stops the copy`,
    // A file whose writes fail: on a tmpfs of 64 KiB. Mounting needs root
    // (CI runs as root); without it the test is reported as ignored.
    ignore: Deno.uid() !== 0,
    fn: async () => {
      const dir = mkdtempSync(join(tmpdir(), "nfs4-local-writer-full-"));
      const mount = new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
      }).outputSync();
      assert.equal(mount.code, 0, new TextDecoder().decode(mount.stderr));
      try {
        const path = join(dir, "out");
        const writer = new LocalWriter(await way.create(path), path, 1 << 20);
        const released: number[] = [];
        const chunk = new Uint8Array(48 * 1024).fill(7);
        let failed: unknown;
        try {
          await writer.write(chunk, () => released.push(1));
          await writer.write(chunk, () => released.push(2));
          await writer.finish({ mode: undefined }, BigInt(2 * chunk.length));
        } catch (error) {
          failed = error;
        }
        assert.ok(failed instanceof LocalFileError, String(failed));
        assert.match(failed.message, new RegExp(`${path}.*No space left`));
        assert.deepEqual(released, [1, 2], "a chunk is released even when its write fails");
        await writer.abort();
      } finally {
        new Deno.Command("umount", { args: [dir] }).outputSync();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  });
}

/** Every chunk of `path` as the copy engine's reader gives them, joined. */
async function readThrough(
  path: string,
  size: bigint | undefined,
  kind: "file" | "fifo" = "file",
): Promise<Uint8Array> {
  const side = new LocalSide({ chunkSize: 1 << 20 } as ConstructorParameters<typeof LocalSide>[0]);
  const stat = { size, kind } as Parameters<LocalSide["openReader"]>[1];
  const reader = await side.openReader(path, stat, 64 * 1024);
  const parts: Uint8Array[] = [];
  try {
    for await (const chunk of reader.chunks()) parts.push(chunk.slice());
  } finally {
    await reader.close();
  }
  return new Uint8Array(Buffer.concat(parts));
}

Deno.test(
  "the reader reads a file in place, in chunks, to its end (and past a size that grew)",
  withDir("/dev/shm", async (dir) => {
    const path = join(dir, "in");
    const data = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
    writeFileSync(path, data);
    assert.deepEqual(await readThrough(path, BigInt(data.length)), data);
    assert.deepEqual(await readThrough(path, 100_000n), data, "stat said less: read on");
    assert.deepEqual(await readThrough(path, undefined), data);
  }),
);

Deno.test("the reader reads a file it cannot read in place (procfs) through the thread pool", async () => {
  // /proc/version: no size in stat (0), the same text every time.
  assert.deepEqual(
    await readThrough("/proc/version", 0n),
    new Uint8Array(readFileSync("/proc/version")),
  );
});

/**
 * The descriptors this process has open on files under `dir`: only those,
 * as `deno test --parallel` runs other test files in this same process.
 */
function openDescriptors(dir: string): number {
  let count = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${entry.name}`).startsWith(`${dir}/`)) count++;
    } catch {
      // Closed meanwhile.
    }
  }
  return count;
}

Deno.test(
  "the reader opens a listed file by descriptor and closes it: none left open after many",
  withDir("/dev/shm", async (dir) => {
    const path = join(dir, "in");
    writeFileSync(path, "small\n");
    const before = openDescriptors(dir);
    for (let i = 0; i < 50; i++) {
      assert.equal(new TextDecoder().decode(await readThrough(path, 6n)), "small\n");
    }
    assert.equal(openDescriptors(dir), before);
    // Closed twice, the second does nothing (the number may be another
    // file's by then); a read after the close fails rather than read it.
    const side = new LocalSide(
      { chunkSize: 1 << 20 } as ConstructorParameters<typeof LocalSide>[0],
    );
    const reader = await side.openReader(
      path,
      { size: 6n, kind: "file" } as Parameters<LocalSide["openReader"]>[1],
      64 * 1024,
    );
    await reader.close();
    await reader.close();
    await assert.rejects(reader.readAt!(0n, 6), /Bad file descriptor/);
    assert.equal(openDescriptors(dir), before);
  }),
);

/** A LocalSide as the copy engine makes one. */
function localSide(): LocalSide {
  return new LocalSide({ chunkSize: 1 << 20 } as ConstructorParameters<typeof LocalSide>[0]);
}

Deno.test({
  name:
    "the writer of a new local file gives it its owner, mode and times through libc, and closes it: none left open after many",
  // Giving files away needs root (CI runs as root); without it the test is reported as ignored.
  ignore: Deno.uid() !== 0,
  fn: withDir("/dev/shm", async (dir) => {
    const side = localSide();
    const before = openDescriptors(dir);
    const mtime = { seconds: -86_400n, nseconds: 123_456_789 };
    const atime = { seconds: 1_700_000_000n, nseconds: 1 };
    for (let i = 0; i < 50; i++) {
      const path = join(dir, `f${i}`);
      const writer = await side.create(path);
      await writer.chown("1234", "5678");
      await writer.write(new TextEncoder().encode(`file ${i}\n`));
      await writer.finish({ mode: 0o4751, mtime, atime }, BigInt(`file ${i}\n`.length));
      const stat = Deno.statSync(path);
      assert.equal(stat.uid, 1234);
      assert.equal(stat.gid, 5678);
      assert.equal(stat.mode! & 0o7777, 0o4751, "the mode after the owner: set-uid kept");
      // To the nanosecond, before 1970 too (Deno's stat says milliseconds).
      assert.deepEqual(libc()!.stat(path, false).mtime, mtime);
      assert.deepEqual(libc()!.stat(path, false).atime, atime);
      assert.equal(readFileSync(path, "utf8"), `file ${i}\n`);
    }
    assert.equal(openDescriptors(dir), before, "every file closed");
    // The owner left as it is (-1), the group given.
    const path = join(dir, "group");
    const writer = await side.create(path);
    await writer.chown(undefined, "42");
    await writer.finish({ mode: undefined }, 0n);
    assert.equal(Deno.statSync(path).uid, 0);
    assert.equal(Deno.statSync(path).gid, 42);
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600, "made 0600, no mode given");
    // An id past what uid_t holds is refused (EINVAL: a warning for the
    // copy), not wrapped: 2^32 would have made the file root's.
    const far = join(dir, "far");
    const farWriter = await side.create(far);
    await farWriter.chown("1234", "1234");
    await assert.rejects(
      farWriter.chown(String(2 ** 32), undefined),
      (e: Error) => e instanceof LocalFileError && e.code === "EINVAL",
    );
    await assert.rejects(
      farWriter.chown(undefined, String(2 ** 32 - 1)),
      (e: Error) => e instanceof LocalFileError && e.code === "EINVAL",
      "0xffffffff is chown's 'leave it', not an id",
    );
    await farWriter.finish({ mode: undefined }, 0n);
    assert.equal(Deno.statSync(far).uid, 1234);
    assert.equal(Deno.statSync(far).gid, 1234);
  }),
});

Deno.test(
  "a libc-written file closed twice (finish, then abort) does not close the descriptor that took its number",
  withDir("/dev/shm", async (dir) => {
    const file = await createForWriting(join(dir, "a"));
    assert.equal(file.how, "libc");
    const writer = new LocalWriter(file, join(dir, "a"), 1 << 20);
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.finish({ mode: undefined }, 3n);
    // The number is free now: the next open most likely takes it.
    const other = openSync(join(dir, "other"), "w");
    try {
      await writer.abort();
      await file.close();
      writeSync(other, "still open");
      assert.equal(readFileSync(join(dir, "other"), "utf8"), "still open");
      await assert.rejects(file.truncate(0), /EBADF/, "no use after close");
      assert.throws(() => file.writeSync!(new Uint8Array(1), 0, 1, 0), /EBADF/);
      // A write at no position (a stream's) is refused, never made at 0.
      await assert.rejects(file.write(new Uint8Array(1), 0, 1, null), /ESPIPE/);
    } finally {
      closeSync(other);
    }
    assert.deepEqual([...readFileSync(join(dir, "a"))], [1, 2, 3]);
  }),
);

Deno.test(
  "a new file where the creator refuses it fails naming it, as cp would (EEXIST), and makes nothing",
  withDir("/dev/shm", async (dir) => {
    const side = localSide();
    writeFileSync(join(dir, "taken"), "theirs");
    await assert.rejects(
      side.create(join(dir, "taken")),
      (e: Error) =>
        e instanceof LocalFileError && e.code === "EEXIST" && /taken: File exists/.test(e.message),
    );
    assert.equal(readFileSync(join(dir, "taken"), "utf8"), "theirs");
    await assert.rejects(
      side.create(join(dir, "no such dir", "f")),
      (e: Error) => e instanceof LocalFileError && e.code === "ENOENT",
    );
  }),
);

/** Runs a command that must succeed (mount, umount). */
function must(command: string, ...args: string[]): void {
  const out = new Deno.Command(command, { args, stderr: "piped" }).outputSync();
  assert.equal(out.code, 0, `${command}: ${new TextDecoder().decode(out.stderr)}`);
}

/**
 * Writes `path` through createForWriting (with `reopen`, when given) and
 * LocalWriter: 5000 bytes of 9 and a hole of 3000. How it was written.
 */
async function writeNewFile(
  path: string,
  reopen?: Parameters<typeof createForWriting>[1],
): Promise<WritableFile["how"]> {
  const file = await createForWriting(path, reopen);
  const writer = new LocalWriter(file, path, 1 << 20);
  try {
    await writer.write(new Uint8Array(5000).fill(9));
    await writer.hole(3000);
    await writer.finish({ mode: 0o644 }, 8000n);
  } finally {
    await writer.abort(); // closes it if finish did not
  }
  const data = readFileSync(path);
  assert.equal(data.length, 8000);
  assert.ok(data.subarray(0, 5000).every((b) => b === 9));
  assert.ok(data.subarray(5000).every((b) => b === 0));
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o644);
  return file.how;
}

/** What onLocalFileSystem says of a file in `dir` (made for the question, then removed). */
function localAnswerIn(dir: string): boolean {
  const path = join(dir, "probe");
  const fd = openSync(path, "w");
  try {
    return onLocalFileSystem(fd);
  } finally {
    closeSync(fd);
    rmSync(path);
  }
}

Deno.test({
  name:
    "a file on a file system not known to be local (overlay) is written and read through the thread pool, even on the device number a tmpfs had just before",
  // Mounting needs root (CI runs as root); without it the test is reported as ignored.
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const base = mkdtempSync(join(tmpdir(), "nfs4-local-writer-overlay-"));
    for (const part of ["lower", "upper", "work", "merged"]) Deno.mkdirSync(join(base, part));
    const merged = join(base, "merged");
    try {
      const before = openDescriptors(base);
      // A tmpfs first: its anonymous device number is most likely the
      // overlay's next (an answer kept by device would be wrong).
      must("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", merged);
      let tmpfsDevice: number;
      try {
        tmpfsDevice = Deno.statSync(merged).dev;
        assert.equal(await writeNewFile(join(merged, "on-tmpfs")), "libc");
        assert.ok(localAnswerIn(merged), "tmpfs is local");
        assert.deepEqual(
          await readThrough(join(merged, "on-tmpfs"), 8000n),
          new Uint8Array(readFileSync(join(merged, "on-tmpfs"))),
        );
      } finally {
        must("umount", merged);
      }
      must(
        "mount",
        "-t",
        "overlay",
        "overlay",
        "-o",
        `lowerdir=${base}/lower,upperdir=${base}/upper,workdir=${base}/work`,
        merged,
      );
      try {
        if (Deno.statSync(merged).dev !== tmpfsDevice) {
          console.warn("the overlay did not take the tmpfs's device number: a weaker test");
        }
        assert.equal(await writeNewFile(join(merged, "out")), "thread pool");
        assert.ok(!localAnswerIn(merged), "overlay is not known to be local");
        const expected = new Uint8Array(8000);
        expected.fill(9, 0, 5000);
        assert.deepEqual(await readThrough(join(merged, "out"), 8000n), expected);
        // The descriptor cannot be reopened (no /proc, say): the file made
        // goes, and node:fs makes it again.
        assert.equal(
          await writeNewFile(join(merged, "again"), () => Promise.reject(new Error("no /proc"))),
          "thread pool",
        );
        assert.deepEqual(Deno.readDirSync(merged).map((e) => e.name).toArray().sort(), [
          "again",
          "out",
        ]);
        assert.equal(
          openDescriptors(base),
          before,
          "the libc descriptor and the reopened one closed",
        );
      } finally {
        must("umount", merged);
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  },
});

/**
 * Reads `fifo` as the copy reads a file it listed, with a writer (another
 * process, so that a main thread stuck in open(2) is still let go) running
 * `script`, started `settle` ms before the read: how the read ended, and
 * how long it took.
 */
async function readFifoListedAsFile(
  fifo: string,
  script: string,
  settle = 0,
): Promise<{ outcome: unknown; took: number }> {
  assert.equal(new Deno.Command("mkfifo", { args: [fifo] }).outputSync().code, 0);
  const writer = new Deno.Command("sh", { args: ["-c", script, "sh", fifo], stderr: "null" })
    .spawn();
  try {
    await sleep(settle);
    const started = performance.now();
    // A read still waiting after 5 s (in the thread pool) is an outcome too.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      readThrough(fifo, 4096n, "file").then(() => "read", (e) => e),
      new Promise((resolve) => timer = setTimeout(() => resolve("still waiting"), 5_000)),
    ]);
    clearTimeout(timer);
    return { outcome, took: performance.now() - started };
  } finally {
    try {
      writer.kill("SIGKILL");
    } catch {
      // it has exited
    }
    await writer.status;
  }
}

/** The copy's failure for a fifo in a file's place: ESPIPE, naming it. */
function assertFifoRefused(outcome: unknown, fifo: string): void {
  assert.ok(outcome instanceof LocalFileError, String(outcome));
  assert.match(outcome.message, /ESPIPE/);
  assert.ok(outcome.message.includes(fifo), outcome.message);
}

Deno.test(
  "a fifo where a file was listed: the copy fails at once, naming it, without waiting for a writer",
  withDir(tmpdir(), async (dir) => {
    const fifo = join(dir, "was-a-file");
    // An open(2) without O_NONBLOCK would wait on the main thread for the
    // writer, which comes after 1 s: the time taken shows it.
    const { outcome, took } = await readFifoListedAsFile(fifo, 'sleep 1; printf late > "$1"');
    assert.ok(took < 500, `it waited ${Math.round(took)} ms`);
    assertFifoRefused(outcome, fifo);
  }),
);

Deno.test(
  "a fifo in a listed file's place whose writer already waits: the copy fails at once, naming it, and does not wait for a second writer",
  withDir(tmpdir(), async (dir) => {
    const fifo = join(dir, "was-a-file");
    // The writer is in its open(2), waiting for a reader, when the read
    // begins; a second open of the fifo would wait for another writer
    // ("still waiting").
    const { outcome } = await readFifoListedAsFile(fifo, 'printf waiting > "$1"', 200);
    assertFifoRefused(outcome, fifo);
  }),
);
