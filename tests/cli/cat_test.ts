/**
 * `nfs4 cat` in-process against an in-memory client: byte-exact output,
 * backpressure, failures per URL, a closed stdout, and closing what was opened.
 */

import assert from "node:assert/strict";
import { dir, FakeStream, file, runFake } from "./_fake.ts";

function binary(length: number): Uint8Array {
  const data = new Uint8Array(length);
  let x = 12345;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

const BIG = binary(100_003);

const world = () => ({
  servers: {
    "srv:2049": dir({
      vfs: dir({
        "hello.txt": file("hello\n"),
        "empty": file(""),
        "big.bin": file(BIG),
        sub: dir({}),
        link: { kind: "symlink", target: "hello.txt" } as const,
      }),
    }),
  },
});

Deno.test("cat copies a file byte for byte", async () => {
  const r = await runFake(["cat", "nfs://srv/vfs/hello.txt"], world());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "hello\n");
  assert.equal(r.log.opened, 1);
  assert.equal(r.log.closed, 1);
  assert.equal(r.log.clientsClosed, 1);
});

Deno.test("cat is binary safe and waits for each chunk to be taken", async () => {
  const stdout = new FakeStream();
  const r = await runFake(["cat", "nfs://srv/vfs/big.bin"], {
    ...world(),
    stdout,
    setup: (client) => client.chunkSize = 1000,
  });
  assert.equal(r.code, 0, r.stderr);
  // The fake reuses one buffer for every chunk: any chunk handed over before
  // the previous write finished would show up corrupted here.
  assert.deepEqual(r.stdoutBytes, BIG);
  assert.equal(stdout.pendingMax, 1, "one write in flight at a time");
});

Deno.test("cat concatenates several files in order, empty ones too", async () => {
  const r = await runFake(
    ["cat", "nfs://srv/vfs/hello.txt", "nfs://srv/vfs/empty", "nfs://srv/vfs/link"],
    world(),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "hello\nhello\n");
  assert.equal(r.log.opened, 3);
  assert.equal(r.log.closed, 3);
});

Deno.test("cat reports a directory and a missing file, copies the rest, exits 1", async () => {
  const r = await runFake(
    ["cat", "nfs://srv/vfs/sub", "nfs://srv/vfs/hello.txt", "nfs://srv/vfs/missing"],
    world(),
  );
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "hello\n");
  assert.equal(
    r.stderr,
    "nfs4: nfs://srv/vfs/sub: Is a directory (NFS4ERR_ISDIR)\n" +
      "nfs4: nfs://srv/vfs/missing: No such file or directory (NFS4ERR_NOENT)\n",
  );
  assert.equal(r.log.clientsClosed, 1);
});

Deno.test("cat stops quietly with status 0 when stdout is closed, and closes the file", async () => {
  const r = await runFake(["cat", "nfs://srv/vfs/big.bin", "nfs://srv/vfs/hello.txt"], {
    ...world(),
    stdout: new FakeStream({ closeAfter: 1 }),
  });
  assert.equal(r.code, 0);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "", "the first write failed: nothing was written");
  // The next file may have been opened (and read) ahead of its turn, small
  // as it is; nothing of it is written, and whatever was opened is closed.
  assert.ok(r.log.opened >= 1 && r.log.opened <= 2, `opened ${r.log.opened}`);
  assert.equal(r.log.closed, r.log.opened, "every open file is closed");
  assert.equal(r.log.clientsClosed, 1);
});

Deno.test("cat with --verbose adds the cause chain", async () => {
  const r = await runFake(["cat", "--verbose", "nfs://srv/vfs/missing"], world());
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    "nfs4: nfs://srv/vfs/missing: No such file or directory (NFS4ERR_NOENT)\n",
    "an NfsError without a cause has no chain",
  );
  const refused = await runFake(["--verbose", "cat", "nfs://down/x"], {
    ...world(),
    refused: ["down:2049"],
  });
  assert.equal(refused.stderr, "nfs4: down:2049: Connection refused\n");
});

Deno.test("cat URL/ wants a directory: a file is Not a directory, a directory Is a directory", async () => {
  const file = await runFake(["cat", "nfs://srv/vfs/hello.txt/", "nfs://srv/vfs/empty"], world());
  assert.equal(file.code, 1);
  assert.equal(
    file.stderr,
    "nfs4: nfs://srv/vfs/hello.txt/: Not a directory (NFS4ERR_NOTDIR)\n",
  );
  assert.equal(file.stdout, "", "the next file is still copied (it is empty)");
  const link = await runFake(["cat", "nfs://srv/vfs/link/."], world());
  assert.equal(link.stderr, "nfs4: nfs://srv/vfs/link/.: Not a directory (NFS4ERR_NOTDIR)\n");
  const directory = await runFake(["cat", "nfs://srv/vfs/sub/"], world());
  assert.equal(directory.code, 1);
  assert.equal(directory.stderr, "nfs4: nfs://srv/vfs/sub/: Is a directory (NFS4ERR_ISDIR)\n");
  assert.equal(directory.log.opened, 0);
});

Deno.test("cat of a name that is not UTF-8, through %XX, gives its bytes", async () => {
  // "l\udce9" is how the client holds the name l, 0xe9 (lib/client/names.ts).
  const r = await runFake(["cat", "nfs://srv/vfs/l%E9"], {
    servers: { "srv:2049": dir({ vfs: dir({ "l\udce9": file(new Uint8Array([0xe9, 0xff])) }) }) },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdoutBytes, new Uint8Array([0xe9, 0xff]));
});
