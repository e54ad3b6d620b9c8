/**
 * NfsWriter and small files: less than a WRITE's worth is sent from the
 * reader's own buffer, not copied into a stage of `wsize` bytes (a pooled
 * megabyte per small file in a `cp -r`), and handed back once its WRITE is
 * answered. The data path of larger files is covered by tests/cli/cp_engine_test.ts.
 */

import assert from "node:assert/strict";
import { NfsWriter, type WriteTarget } from "../../lib/client/copy/mod.ts";

/**
 * Records each WRITE's bytes (the very view it was given) and the stability
 * asked; answers UNSTABLE4, or FILE_SYNC4 when asked for it and `grants`.
 */
class RecordingFile implements WriteTarget {
  readonly path = "/vfs/small";
  readonly wsize: number;
  readonly sent: { offset: bigint; data: Uint8Array; stable: string | undefined }[] = [];
  grants = false;
  commits = 0;
  /** Resolves the next WRITE's answer when called (a WRITE in flight until then). */
  answered = 0;

  constructor(wsize: number) {
    this.wsize = wsize;
  }

  async write(offset: bigint, data: Uint8Array, stable?: "unstable" | "data" | "file") {
    this.sent.push({ offset, data, stable });
    await new Promise((resolve) => setTimeout(resolve, 1));
    this.answered++;
    const committed = stable === "file" && this.grants ? 2 : 0;
    return { committed, verifier: new Uint8Array(8) };
  }

  commit(): Promise<Uint8Array> {
    this.commits++;
    return Promise.resolve(new Uint8Array(8));
  }

  setattr(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("NfsWriter sends a small file from the chunk it was given and hands it back once answered", async () => {
  const file = new RecordingFile(1 << 20);
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 1 << 20 });
  writer.useSource(() => Promise.reject(new Error("not read again")));
  const chunk = new Uint8Array(4096).fill(7);
  let handedBack = 0;
  await writer.write(chunk, () => handedBack++);
  assert.equal(handedBack, 0, "held until its WRITE is answered");
  assert.equal(file.sent.length, 0, "not sent before the writer knows nothing follows");
  await writer.finish({ mode: 0o644 }, 4096n);
  assert.equal(file.sent.length, 1);
  assert.equal(file.sent[0]!.data.buffer, chunk.buffer, "the chunk's own buffer, not a copy");
  assert.equal(file.sent[0]!.data.length, 4096);
  assert.equal(handedBack, 1);
  assert.equal(file.sent[0]!.stable, "file", "the only WRITE asks FILE_SYNC4");
  assert.equal(file.commits, 1, "answered UNSTABLE4: committed as usual");
});

Deno.test("NfsWriter sends no COMMIT after a small file's FILE_SYNC4 WRITE the server granted (RFC 8881 §18.32.3)", async () => {
  const file = new RecordingFile(1 << 20);
  file.grants = true;
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 1 << 20 });
  await writer.write(new Uint8Array(4096).fill(5));
  await writer.finish({ mode: 0o644 }, 4096n);
  assert.deepEqual(file.sent.map((w) => w.stable), ["file"]);
  assert.equal(file.commits, 0);
});

Deno.test("NfsWriter sends a file of several WRITEs UNSTABLE4, the last one too, and commits", async () => {
  const file = new RecordingFile(1000);
  file.grants = true;
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 1 << 20 });
  await writer.write(new Uint8Array(2500).fill(6));
  await writer.finish({ mode: 0o644 }, 2500n);
  assert.deepEqual(file.sent.map((w) => w.stable), ["unstable", "unstable", "unstable"]);
  assert.equal(file.commits, 1);
});

Deno.test("NfsWriter joins short chunks into one WRITE once a second one comes", async () => {
  const file = new RecordingFile(1000);
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 1 << 20 });
  writer.useSource(() => Promise.reject(new Error("not read again")));
  const first = new Uint8Array(300).fill(1);
  const second = new Uint8Array(300).fill(2);
  const handedBack: string[] = [];
  await writer.write(first, () => handedBack.push("first"));
  await writer.write(second, () => handedBack.push("second"));
  // Both copied into one stage once the second came: neither is held.
  assert.deepEqual(handedBack, ["first", "second"]);
  assert.equal(file.sent.length, 0);
  await writer.finish({ mode: 0o644 }, 600n);
  assert.equal(file.sent.length, 1, "one WRITE of both");
  assert.deepEqual(file.sent[0]!.data, new Uint8Array([...first, ...second]));
});

Deno.test("NfsWriter keeps a small file's chunk until COMMIT when the source cannot be read again", async () => {
  const file = new RecordingFile(1 << 20);
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 1 << 20 });
  const chunk = new Uint8Array(10).fill(9);
  let handedBack = 0;
  await writer.write(chunk, () => handedBack++);
  await writer.finish({ mode: 0o644 }, 10n);
  assert.equal(file.sent[0]!.data.buffer, chunk.buffer);
  assert.equal(handedBack, 0, "kept for a resend: never handed back to a pool");
});

Deno.test("NfsWriter sends a held short chunk before a hole", async () => {
  const file = new RecordingFile(1000);
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 1 << 20 });
  await writer.write(new Uint8Array(100).fill(3));
  await writer.hole(500);
  await writer.write(new Uint8Array(100).fill(4));
  await writer.finish({ mode: 0o644 }, 700n);
  assert.deepEqual(file.sent.map((w) => [w.offset, w.data.length]), [[0n, 100], [600n, 100]]);
});

/** A RecordingFile that can end a file in one COMPOUND (as NfsFile.endInOne on 4.1). */
class EndingFile extends RecordingFile {
  readonly ends: { data: Uint8Array | undefined; attrs: Record<string, unknown> }[] = [];
  /** What the WRITE of endInOne answers: its count (default all), and whether it applies. */
  count: number | undefined;
  applies = true;

  endInOne(data: Uint8Array | undefined, attrs: Record<string, unknown>) {
    if (!this.applies) return Promise.resolve({ done: false as const });
    this.ends.push({ data, attrs });
    return Promise.resolve({
      done: true as const,
      write: data
        ? { count: this.count ?? data.length, committed: 2, writeverf: new Uint8Array(8) }
        : undefined,
    });
  }
}

Deno.test("NfsWriter ends a temporary of one WRITE in one COMPOUND (NfsFile.endInOne: WRITE+SETATTR+CLOSE), the chunk handed back after", async () => {
  const file = new EndingFile(1 << 20);
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 1 << 20, endInOne: true });
  writer.useSource(() => Promise.reject(new Error("not read again")));
  const chunk = new Uint8Array(4096).fill(7);
  let handedBack = 0;
  await writer.write(chunk, () => handedBack++);
  await writer.finish({ mode: 0o640 }, 4096n);
  assert.equal(file.sent.length, 0, "no WRITE of its own");
  assert.equal(file.ends.length, 1);
  assert.equal(file.ends[0]!.data!.buffer, chunk.buffer);
  assert.equal(file.ends[0]!.attrs.size, 4096n);
  assert.equal(file.ends[0]!.attrs.mode, 0o640);
  assert.equal(handedBack, 1);
  assert.equal(file.commits, 0);
  // An empty file: SETATTR+CLOSE.
  const empty = new EndingFile(1 << 20);
  await new NfsWriter(empty, { depth: 4, commitBytes: 1 << 20, endInOne: true })
    .finish({ mode: 0o600 }, 0n);
  assert.deepEqual(empty.ends.map((e) => e.data), [undefined]);
});

Deno.test("NfsWriter: a count still short of the data after the one COMPOUND (whose short WRITE the state layer follows with the rest before it returns) fails the file, never taken as written", async () => {
  const file = new EndingFile(1 << 20);
  file.count = 100;
  const writer = new NfsWriter(file, { depth: 4, commitBytes: 1 << 20, endInOne: true });
  await writer.write(new Uint8Array(4096).fill(1));
  await assert.rejects(writer.finish({ mode: undefined }, 4096n), /wrote 100 of 4096 bytes/);
});

Deno.test("NfsWriter ends as usual: written in place (no endInOne), larger than one WRITE, or when the open cannot end so (a shared open)", async () => {
  for (
    const [options, size, applies] of [
      [{ endInOne: false }, 4096, true],
      [{ endInOne: true }, 3000, true],
      [{ endInOne: true }, 4096, false],
    ] as const
  ) {
    const file = new EndingFile(1000 + (size === 3000 ? 0 : 1 << 20));
    file.applies = applies;
    file.grants = true;
    const writer = new NfsWriter(file, { depth: 4, commitBytes: 1 << 20, ...options });
    await writer.write(new Uint8Array(size).fill(3));
    await writer.finish({ mode: undefined }, BigInt(size));
    assert.equal(file.ends.length, 0);
    assert.equal(file.sent.reduce((n, w) => n + w.data.length, 0), size);
  }
});
