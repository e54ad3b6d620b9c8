/**
 * The copy engine (lib/client/copy/mod.ts) in-process, against fake files: the
 * NFS writer's window, COMMIT and verifier handling (resend after a server
 * restart, with kept data or by reading the source again), its bounds on
 * WRITEs in flight, the pipelined reader's handling of short READs, and the
 * small pure helpers.
 */

import assert from "node:assert/strict";
import {
  NfsWriter,
  parseLocation,
  pipelinedRead,
  temporaryName,
  type WriteTarget,
} from "../../lib/client/copy/mod.ts";
import type { SettableAttributes } from "../../lib/nfs4/attrs.ts";

const UNSTABLE4 = 0;
const FILE_SYNC4 = 2;

/**
 * A file on a pretend server: WRITEs land in `data`, a COMMIT makes them
 * durable, and `restart()` loses what was not committed and changes the
 * write verifier, as a server reboot does.
 */
class FakeFile implements WriteTarget {
  readonly path = "/vfs/fake";
  readonly wsize: number;
  data = new Uint8Array(0);
  durable = new Uint8Array(0);
  epoch = 1;
  inFlight = 0;
  maxInFlight = 0;
  writes = 0;
  commits = 0;
  stable = UNSTABLE4;
  /** Called before each WRITE is answered (to restart the server at a chosen moment). */
  beforeWrite: (n: number) => void = () => {};
  failWrite: number | undefined;
  attrs: SettableAttributes[] = [];
  closed = false;

  constructor(wsize: number) {
    this.wsize = wsize;
  }

  #verifier(): Uint8Array {
    return new Uint8Array([0, 0, 0, 0, 0, 0, 0, this.epoch]);
  }

  restart(): void {
    this.epoch++;
    this.data = this.durable.slice();
  }

  async write(offset: bigint, data: Uint8Array, _stable?: string) {
    const n = ++this.writes;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    this.inFlight--;
    this.beforeWrite(n);
    if (this.failWrite === n) throw new Error("server said no");
    const end = Number(offset) + data.length;
    if (end > this.data.length) {
      const grown = new Uint8Array(end);
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(data, Number(offset));
    if (this.stable === FILE_SYNC4) this.durable = this.data.slice();
    return { committed: this.stable, verifier: this.#verifier() };
  }

  async commit(): Promise<Uint8Array> {
    this.commits++;
    await new Promise((resolve) => setTimeout(resolve, 1));
    this.durable = this.data.slice();
    return this.#verifier();
  }

  setattr(attrs: SettableAttributes): Promise<void> {
    this.attrs.push(attrs);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function pattern(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Feeds `source` to `writer` in chunks of `chunk` bytes (copies: the writer may keep them). */
async function feed(writer: NfsWriter, source: Uint8Array, chunk: number): Promise<void> {
  for (let at = 0; at < source.length; at += chunk) {
    await writer.write(source.slice(at, at + chunk));
  }
}

Deno.test("NfsWriter writes whole wsize pieces, the last one short, and commits at the end", async () => {
  const file = new FakeFile(1000);
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 1 << 20 });
  const source = pattern(4321);
  await feed(writer, source, 333);
  await writer.finish({ mode: 0o640 }, BigInt(source.length));
  assert.deepEqual(file.durable, source);
  assert.equal(file.writes, 5);
  assert.equal(file.commits, 1);
  assert.deepEqual(file.attrs, [{ size: 4321n, mode: 0o640 }]);
  assert.ok(file.closed);
});

Deno.test("NfsWriter keeps no more WRITEs in flight than its depth", async () => {
  const file = new FakeFile(100);
  const writer = new NfsWriter(file, { depth: 3, commitBytes: 1000 });
  const source = pattern(10_000);
  await feed(writer, source, 1000);
  await writer.finish({ mode: 0o644 }, BigInt(source.length));
  assert.deepEqual(file.durable, source);
  assert.equal(file.maxInFlight, 3);
  assert.equal(file.commits, 10);
});

Deno.test("NfsWriter resends a window's WRITEs when the COMMIT verifier differs (kept data)", async () => {
  const file = new FakeFile(100);
  // The server restarts while the 7th WRITE is answered: WRITEs 1-6 of the
  // window (commit every 1000 bytes) were answered with the old verifier.
  file.beforeWrite = (n) => {
    if (n === 7) file.restart();
  };
  const resends: number[] = [];
  const writer = new NfsWriter(file, {
    depth: 2,
    commitBytes: 1000,
    onResend: (count) => resends.push(count),
  });
  const source = pattern(2500);
  await feed(writer, source, 250);
  await writer.finish({ mode: 0o644 }, BigInt(source.length));
  assert.deepEqual(file.durable, source, "every byte durable after the restart");
  assert.deepEqual(resends, [6]);
  assert.equal(writer.stats.resent, 6);
});

Deno.test("NfsWriter reads the source again for a resend instead of keeping data", async () => {
  const file = new FakeFile(100);
  file.beforeWrite = (n) => {
    if (n === 15) file.restart();
  };
  const source = pattern(3000);
  const rereads: [bigint, number][] = [];
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 1000 });
  writer.useSource((offset, length) => {
    rereads.push([offset, length]);
    return Promise.resolve(source.slice(Number(offset), Number(offset) + length));
  });
  // Chunks the writer must not keep: overwritten after each write().
  const scratch = new Uint8Array(500);
  for (let at = 0; at < source.length; at += 500) {
    scratch.set(source.subarray(at, at + 500));
    await writer.write(scratch.slice());
  }
  await writer.finish({ mode: 0o644 }, BigInt(source.length));
  assert.deepEqual(file.durable, source);
  assert.ok(rereads.length > 0, "the lost WRITEs were read again");
  for (const [offset, length] of rereads) {
    assert.equal(length, 100);
    assert.ok(offset >= 1000n && offset < 2000n, `offset ${offset} in the second window`);
  }
});

Deno.test("NfsWriter sends no COMMIT for FILE_SYNC4 WRITEs", async () => {
  const file = new FakeFile(100);
  file.stable = FILE_SYNC4;
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 200 });
  const source = pattern(1000);
  await feed(writer, source, 100);
  await writer.finish({ mode: 0o600 }, BigInt(source.length));
  assert.equal(file.commits, 0);
  assert.deepEqual(file.durable, source);
});

Deno.test("NfsWriter gives up when the verifier keeps changing", async () => {
  const file = new FakeFile(100);
  const commit = file.commit.bind(file);
  file.commit = async () => {
    file.restart();
    return await commit();
  };
  const writer = new NfsWriter(file, { depth: 2, commitBytes: 1 << 20, maxCommitRounds: 3 });
  await feed(writer, pattern(500), 100);
  await assert.rejects(
    writer.finish({ mode: 0o644 }, 500n),
    /\/vfs\/fake: the server's write verifier kept changing; 5 WRITEs not committed/,
  );
  assert.equal(file.commits, 3);
});

Deno.test("NfsWriter reports a failed WRITE from the next write() or finish()", async () => {
  const file = new FakeFile(100);
  file.failWrite = 3;
  const writer = new NfsWriter(file, { depth: 8, commitBytes: 1 << 20 });
  await assert.rejects(
    (async () => {
      await feed(writer, pattern(5000), 100);
      await writer.finish({ mode: 0o644 }, 5000n);
    })(),
    /server said no/,
  );
  await writer.abort();
  assert.ok(file.closed);
});

Deno.test("NfsWriter sets the server's time after an exclusive create, the source's with -p", async () => {
  const file = new FakeFile(100);
  const writer = new NfsWriter(file, { depth: 2, commitBytes: 1000, resetTimes: true });
  await writer.finish({ mode: 0o644 }, 0n);
  assert.deepEqual(file.attrs, [{
    size: 0n,
    mode: 0o644,
    timeModifySet: "server",
    timeAccessSet: "server",
  }]);
  assert.equal(file.writes, 0);
  assert.equal(file.commits, 0, "nothing to commit for an empty file");
  const other = new FakeFile(100);
  const preserved = new NfsWriter(other, { depth: 2, commitBytes: 1000, resetTimes: true });
  const mtime = { seconds: 1_600_000_000n, nseconds: 5 };
  const atime = { seconds: 1_600_000_001n, nseconds: 6 };
  await preserved.finish({ mode: 0o600, mtime, atime }, 0n);
  assert.deepEqual(other.attrs, [{
    size: 0n,
    mode: 0o600,
    timeModifySet: mtime,
    timeAccessSet: atime,
  }]);
});

Deno.test("pipelinedRead() yields in order and continues after a short READ", async () => {
  const content = pattern(10_000);
  const asked: [bigint, number][] = [];
  const file = {
    path: "/vfs/f",
    read(offset: bigint, count: number) {
      asked.push([offset, count]);
      const start = Number(offset);
      // The READ at 2000 comes back short (300 bytes), as a server may answer.
      const n = start === 2000 ? 300 : count;
      const data = content.slice(start, Math.min(content.length, start + n));
      return Promise.resolve({ data, eof: start + n >= content.length });
    },
  };
  const parts: Uint8Array[] = [];
  for await (const chunk of pipelinedRead(file, BigInt(content.length), 1000, 4)) {
    parts.push(chunk);
  }
  const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  assert.deepEqual(joined, content);
  assert.ok(asked.some(([offset]) => offset === 2300n), "went on from where the short READ ended");
});

Deno.test("pipelinedRead() reads a file of unknown size until EOF, one READ past the data", async () => {
  const content = pattern(2500);
  let reads = 0;
  const file = {
    path: "/vfs/f",
    read(offset: bigint, count: number) {
      reads++;
      const start = Number(offset);
      const data = content.slice(start, Math.min(content.length, start + count));
      return Promise.resolve({ data, eof: false });
    },
  };
  let total = 0;
  for await (const chunk of pipelinedRead(file, undefined, 1000, 2)) total += chunk.length;
  assert.equal(total, 2500);
  assert.ok(reads >= 4);
});

Deno.test("temporaryName() is .NAME.nfs4-XXXXXX and fits in 255 bytes", () => {
  assert.match(temporaryName("report.pdf"), /^\.report\.pdf\.nfs4-[A-Za-z0-9]{6}$/);
  assert.notEqual(temporaryName("a"), temporaryName("a"));
  const long = "é".repeat(127); // 254 bytes
  const name = temporaryName(long);
  assert.ok(new TextEncoder().encode(name).length <= 255);
  assert.match(name, /^\.é+\.nfs4-[A-Za-z0-9]{6}$/);
});

Deno.test("parseLocation() tells stdin/stdout, NFS URLs and local paths apart", () => {
  assert.deepEqual(parseLocation("-"), { kind: "stdio", text: "-" });
  const nfs = parseLocation("NFS://srv:2050/vfs/a%20b");
  assert.equal(nfs.kind, "nfs");
  assert.equal(nfs.kind === "nfs" && nfs.url.path, "/vfs/a b");
  assert.deepEqual(parseLocation("./nfs:/x"), {
    kind: "local",
    path: "./nfs:/x",
    text: "./nfs:/x",
  });
  assert.throws(() => parseLocation("nfs://"), { name: "UsageError" });
});
